"""Safe checkpoint loading: exactly what mmengine writes is allow-listed."""
import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from bafenet.utils.checkpoint import checkpoint_safe_globals


def qualified_names():
    names = set()
    for entry in checkpoint_safe_globals():
        if isinstance(entry, tuple):
            names.add(entry[1])
        else:
            names.add(f'{entry.__module__}.{entry.__qualname__}')
    return names


def test_message_hub_state_round_trips():
    hub = MessageHub.get_instance('ckpt-test')
    for i in range(5):
        hub.update_scalar('train/loss', np.float32(i) / 3)
        hub.update_scalar('train/iter_time', float(i))
    hub.update_info('iter', 5)
    hub.update_info('best_score', np.float64(0.25))
    buffer = io.BytesIO()
    torch.save({'message_hub': hub.state_dict()}, buffer)
    buffer.seek(0)
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(buffer))
    assert unsafe <= qualified_names(), unsafe - qualified_names()
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    scalars = state['message_hub']['log_scalars']
    assert isinstance(scalars['train/loss'], HistoryBuffer)
    assert scalars['train/loss'].current() == pytest.approx(4 / 3)


class Exploit:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_arbitrary_objects_are_still_refused():
    buffer = io.BytesIO()
    torch.save({'state_dict': {}, 'payload': Exploit()}, buffer)
    buffer.seek(0)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(buffer, weights_only=True)


def saved(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return buffer


def test_getattr_is_limited_to_history_buffer_methods():
    # pickle writes class functions as getattr(HistoryBuffer, name)
    loaded = torch.load(saved(HistoryBuffer.mean), weights_only=True)
    assert loaded is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        torch.load(saved(HistoryBuffer.__init__), weights_only=True)
