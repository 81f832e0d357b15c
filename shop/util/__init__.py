print("shop.util init:", __name__, __package__)
