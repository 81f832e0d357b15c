import helper
print("other imports helper; counter =", helper.counter)
helper.bump(10)
