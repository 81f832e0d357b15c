print("counter_mod runs")
value = 1
