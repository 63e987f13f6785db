from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .predictions_file import (PredictionsFileError,  # noqa: F401
                               load_predictions)
