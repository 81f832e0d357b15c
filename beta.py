from alpha import a_value
b_value = 2
