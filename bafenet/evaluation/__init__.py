from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .metrics_report import (json_metrics, test_split_file,  # noqa: F401
                             write_metrics_report)
from .predictions_file import (PredictionsFileError,  # noqa: F401
                               load_predictions)
