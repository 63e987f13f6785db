from .checkpoint_coverage import load_model_checkpoint
from .checkpoint_loading import (CheckpointError, install_safe_loading,
                                 load_checkpoint_file)
from .checkpoint_resume import (check_resume_checkpoint,
                                find_resumable_checkpoint)
from .config import (find_config, innermost_dataset_cfg, load_config,
                     load_tool_config, set_data_root, setup_cpu_distributed)
from .setup_env import register_all_modules

__all__ = [
    'CheckpointError', 'check_resume_checkpoint', 'find_config',
    'find_resumable_checkpoint', 'innermost_dataset_cfg',
    'install_safe_loading', 'load_checkpoint_file', 'load_config',
    'load_model_checkpoint', 'load_tool_config', 'register_all_modules',
    'set_data_root', 'setup_cpu_distributed'
]
