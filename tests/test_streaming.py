"""helpers.edge.streaming: the ring buffer, window emission as samples arrive, and the latency table."""

import numpy as np
import pytest
import torch

from helpers.models import EEGCNNLSTM
from helpers.edge.streaming import RingBuffer, latency_table, one_thread, stream


def counting_signal(n_channels=2, n=40):
    """Channel c holds 1000 c + sample index: any window's contents say exactly where it came from."""
    return np.stack([1000 * c + np.arange(n) for c in range(n_channels)]).astype(np.float32)


def test_ring_buffer_wraps_around_and_returns_samples_in_time_order():
    buf = RingBuffer(2, capacity=5)
    x = counting_signal(n=12)
    buf.push(x[:, :3])
    assert len(buf) == 3 and buf.n_seen == 3
    np.testing.assert_array_equal(buf.latest(3), x[:, :3])
    buf.push(x[:, 3:7])  # 7 samples into 5 slots: 0 and 1 are overwritten, the write wraps to the front
    assert len(buf) == 5 and buf.n_seen == 7
    np.testing.assert_array_equal(buf.latest(5), x[:, 2:7])
    np.testing.assert_array_equal(buf.get(3, 6), x[:, 3:6])
    for i in range(7, 12):  # one sample at a time, as an acquisition callback delivers them
        buf.push(x[:, i])
    np.testing.assert_array_equal(buf.latest(5), x[:, 7:12])


def test_ring_buffer_keeps_only_the_newest_samples_of_an_oversized_push_and_refuses_lost_ones():
    buf = RingBuffer(2, capacity=4)
    x = counting_signal(n=10)
    buf.push(x)
    assert buf.n_seen == 10
    np.testing.assert_array_equal(buf.latest(4), x[:, 6:10])
    with pytest.raises(IndexError, match=r"samples 5..9 are not in the buffer: it holds 6..9 \(capacity 4\)"):
        buf.get(5, 10)
    with pytest.raises(IndexError, match="not in the buffer"):
        buf.get(8, 11)  # not pushed yet
    with pytest.raises(ValueError, match=r"push expects \(2, m\) samples, got shape \(3, 1\)"):
        buf.push(np.zeros((3, 1)))


@pytest.mark.parametrize("chunk", [1, 3, 8])
def test_stream_emits_each_window_once_when_its_last_sample_arrives_with_exact_contents(chunk):
    fs, x = 4.0, counting_signal(n=40)  # 10 s at 4 Hz
    seen = []

    def classify(w):
        seen.append(w.copy())
        return np.array([0.25, 0.75])

    res = stream(classify, x, fs, window_s=2.0, step_s=1.0, chunk=chunk)
    # windows of 8 samples, hop 4: (40 - 8) // 4 + 1 = 9, completing at samples 8, 12, ..., 40
    assert len(res) == 9 and res.proba.shape == (9, 2)
    np.testing.assert_allclose(res.end_s, np.arange(2, 11))
    for k, w in enumerate(seen):
        np.testing.assert_array_equal(w, x[:, 4 * k:4 * k + 8])
    assert np.all(res.latency_ms >= 0)


def test_stream_with_context_gives_a_sequence_model_the_newest_seconds():
    fs, x = 4.0, counting_signal(n=40)
    lengths = []
    res = stream(lambda w: lengths.append(w.shape[1]) or np.array([1.0]), x, fs, window_s=2.0, step_s=1.0,
                 context_s=4.0)
    assert lengths == [8, 12, 16, 16, 16, 16, 16, 16, 16]  # all so far, then the newest 4 s
    assert len(res) == 9
    with pytest.raises(ValueError, match="context >= window"):
        stream(lambda w: w, x, fs, window_s=2.0, context_s=1.0)


def test_stream_runs_a_torch_sequence_model_and_the_latency_table_reports_one_thread():
    torch.manual_seed(0)
    model = EEGCNNLSTM(3, 2, window=16, step=8, spatial_filters=2, temporal_filters=2, kernel_size=3, d_model=4,
                       hidden=4, verbose=False)
    x = np.random.default_rng(0).normal(size=(3, 160)).astype(np.float32)  # 10 s at 16 Hz
    res = stream(model, x, 16.0, window_s=1.0, step_s=0.5, context_s=3.0)
    assert res.proba.shape == (19, 2) and np.allclose(res.proba.sum(axis=1), 1)
    before = torch.get_num_threads()
    table = latency_table({"cnn_lstm": model}, x, 16.0, context_s=3.0, accuracy={"cnn_lstm": 0.6}, warmup=1)
    assert torch.get_num_threads() == before  # one thread inside, restored after
    row = table.iloc[0]
    assert row["model"] == "cnn_lstm" and row["n_windows"] == 19 and row["accuracy"] == 0.6
    assert 0 < row["median_ms"] <= row["p99_ms"] <= row["max_ms"] and row["budget_ms"] == 500
    assert row["n_parameters"] == model.num_parameters()
    with one_thread():
        assert torch.get_num_threads() == 1
