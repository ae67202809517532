"""What the health app adds to the rest of the product, called from ``ready()``."""


def register() -> None:
    pass
