from .checkpoint import (CheckpointError, load_model_checkpoint,
                         register_checkpoint_safe_globals)
from .config import (find_config, innermost_dataset_cfg, load_config,
                     load_tool_config, set_data_root, setup_cpu_distributed)
from .setup_env import register_all_modules

__all__ = [
    'CheckpointError', 'find_config', 'innermost_dataset_cfg', 'load_config',
    'load_model_checkpoint', 'load_tool_config', 'register_all_modules',
    'register_checkpoint_safe_globals', 'set_data_root',
    'setup_cpu_distributed'
]
