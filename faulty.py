def explode(d):
    return d["missing"]

print("faulty runs")
explode({})
