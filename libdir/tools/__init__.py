from .knife import cut
