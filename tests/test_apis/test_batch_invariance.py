"""Predictions that do not depend on the batch: real test_v2 frames of four
sizes at their native size (the demo config's test pipeline), at batch size
1 and 4, with the demo model from random weights."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from bafenet.apis import init_detector
from bafenet.registry import DATASETS
from tests.conftest import REPO_ROOT

DEMO = REPO_ROOT / 'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py'
#: test_v2 frames of four sizes: 640x512, 390x290 (RGB), 301x213, 249x249.
FRAMES = ('S20210713_S3_3', 'Misc_53', 'Misc_199', 'Misc_13')


@pytest.fixture(scope='module')
def model_and_batch(real_root, tmp_path_factory):
    """The demo model (random weights, every box kept up to 100 per frame),
    the frames' packed samples and each one's predictions alone."""
    cfg = Config.fromfile(str(DEMO))
    cfg.model.test_cfg.score_thr = 0.0
    split = tmp_path_factory.mktemp('split') / 'frames.txt'
    split.write_text('\n'.join(FRAMES))
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.update(
        data_root=str(real_root), ann_file=str(split), indices=None)
    torch.manual_seed(0)
    model = init_detector(cfg)
    dataset = DATASETS.build(dataset_cfg)
    samples = [dataset[i] for i in range(len(dataset))]
    shapes = {tuple(s['inputs'].shape[-2:]) for s in samples}
    assert len(shapes) == len(FRAMES), 'the frames must differ in size'
    alone = [predict(model, [sample])[0] for sample in samples]
    return model, samples, alone


def predict(model, samples):
    with torch.no_grad():
        return model.test_step(pseudo_collate(copy.deepcopy(samples)))


def unfixed_predict(model, samples):
    """What the model did before: one forward pass over the batch padded to
    its largest frame."""
    data = model.data_preprocessor(pseudo_collate(copy.deepcopy(samples)))
    with torch.no_grad():
        return model.predict_group(data['inputs'], data['data_samples'],
                                   rescale=True)


def test_batch_of_four_equals_four_batches_of_one(model_and_batch):
    model, samples, alone = model_and_batch
    batched = predict(model, samples)
    for one, four in zip(alone, batched):
        a, b = one.pred_instances, four.pred_instances
        assert len(a) == len(b) > 0
        torch.testing.assert_close(b.scores, a.scores, atol=1e-5, rtol=0)
        torch.testing.assert_close(b.bboxes, a.bboxes, atol=1e-3, rtol=0)
        torch.testing.assert_close(
            four.pred_sem_seg.sky_prob,
            one.pred_sem_seg.sky_prob,
            atol=1e-5,
            rtol=0)


def test_padding_to_the_batch_changed_the_smaller_frames(model_and_batch):
    """The test above can fail: run as one padded batch, every frame but
    the largest gets other boxes than alone."""
    model, samples, alone = model_and_batch
    padded = unfixed_predict(model, samples)
    largest = max(
        range(len(samples)),
        key=lambda i: samples[i]['inputs'].shape[-2:].numel())
    for i, (one, four) in enumerate(zip(alone, padded)):
        a, b = one.pred_instances, four.pred_instances
        same = len(a) == len(b) and torch.allclose(
            a.scores, b.scores, atol=1e-5, rtol=0)
        assert same == (i == largest), FRAMES[i]
