from .bafenet import BAFENet

__all__ = ['BAFENet']
