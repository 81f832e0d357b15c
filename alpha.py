from beta import b_value
a_value = 1
