"""circles: the 15-minute service-circle planner."""

from circles.errors import CirclesError

__all__ = ["CirclesError"]
__version__ = "0.1.0"
