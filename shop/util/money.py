print("shop.util.money:", __name__, __package__)
def fmt(cents):
    return f"${cents // 100}.{cents % 100:02d}"
