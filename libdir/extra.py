WHO = 'extra'
