# Kept for the migrations that reference these validators by this path.
from apps.core.validators import validate_country, validate_timezone

__all__ = ["validate_country", "validate_timezone"]
