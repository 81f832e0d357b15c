import first
print('second sees', hasattr(first, 'VALUE'))
print(first.VALUE)
