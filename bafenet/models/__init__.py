from .dense_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
from .test_time import *  # noqa: F401,F403
