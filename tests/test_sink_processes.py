"""A sink sent to other processes (``ProcessPoolExecutor``, a dask ``LocalCluster``): their
``addTile`` calls reach it, and its ``write`` gives the file it would have written had every
``addTile`` run in it, pixel for pixel and frame for frame; a closed sink refuses tiles."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from osgeo import gdal

import geolargeimage
from geolargeimage import errors

WIDTH, HEIGHT, SIDE = 700, 500, 128


def piece(left: int, top: int, frame: int = 0) -> np.ndarray:
    rows = np.arange(top, min(top + SIDE, HEIGHT))[:, None, None]
    cols = np.arange(left, min(left + SIDE, WIDTH))[None, :, None]
    return ((rows * 3 + cols * 5 + np.arange(3) * 40 + frame * 90) % 256).astype(np.uint8)


def positions() -> list[tuple[int, int]]:
    return [(left, top) for top in range(0, HEIGHT, SIDE) for left in range(0, WIDTH, SIDE)]


def add_pieces(sink, chunk: list[tuple[int, int]], frames: int = 1) -> int:
    """Run in a worker process: the pieces of ``chunk`` on every frame, a mask on one."""
    for left, top in chunk:
        for frame in range(frames):
            mask = np.eye(SIDE, dtype=bool)[:piece(left, top).shape[0], :piece(left, top).shape[1]]
            sink.addTile(piece(left, top, frame), left, top, z=frame,
                         mask=mask if (left, top) == (128, 128) else None)
    return len(chunk)


def pages(path) -> list[np.ndarray]:
    dataset = gdal.Open(str(path))
    found = [dataset.ReadAsArray()]
    for name, _ in dataset.GetSubDatasets()[1:]:
        found.append(gdal.Open(name).ReadAsArray())
    return found


@pytest.mark.parametrize('frames', [1, 2])
def test_tiles_added_in_worker_processes_write_the_parents_file(tmp_path, frames):
    chunks = [positions()[number::3] for number in range(3)]
    alone = geolargeimage.new()
    for chunk in chunks:
        add_pieces(alone, chunk, frames)
    alone.write(tmp_path / 'alone.tif', lossy=False)
    shared = geolargeimage.new()
    with ProcessPoolExecutor(2) as pool:
        assert sum(pool.map(add_pieces, [shared] * 3, chunks, [frames] * 3)) == len(positions())
    assert shared.frames == frames and (shared.sizeX, shared.sizeY) == (WIDTH, HEIGHT)
    shared.write(tmp_path / 'shared.tif', lossy=False)
    for ours, theirs in zip(pages(tmp_path / 'shared.tif'), pages(tmp_path / 'alone.tif'),
                            strict=True):
        np.testing.assert_array_equal(ours, theirs)
    if frames == 1:
        written = gdal.Open(str(tmp_path / 'shared.tif'))
        mask = written.GetRasterBand(1).GetMaskBand().ReadAsArray()
        assert mask[128 + 5, 128 + 6] == 0 and mask[128 + 5, 128 + 5] == 255  # a worker's mask


def test_a_local_cluster_adds_tiles(tmp_path):
    distributed = pytest.importorskip('distributed')
    sink = geolargeimage.new()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host='127.0.0.1', dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        futures = client.map(add_pieces, [sink] * 4, [positions()[n::4] for n in range(4)])
        assert sum(client.gather(futures)) == len(positions())
    region = sink.getRegion(region=dict(left=300, top=200, width=100, height=90),
                            format='numpy')[0]
    np.testing.assert_array_equal(region[:, :, :3],
                                  np.concatenate([np.concatenate(
                                      [piece(left, top) for left in range(0, WIDTH, SIDE)],
                                      axis=1) for top in range(0, HEIGHT, SIDE)],
                                      axis=0)[200:290, 300:400])


def test_a_closed_sink_refuses_tiles_from_other_processes():
    sink = geolargeimage.new()
    worker = pickle.loads(pickle.dumps(sink))
    worker.addTile(piece(0, 0), 0, 0)
    assert sink.getMetadata()['sizeX'] == SIDE
    sink.close()
    with pytest.raises(errors.WriteError, match='closed or written'):
        worker.addTile(piece(0, 0), 0, 0)
    with pytest.raises(errors.WriteError, match='closed'):
        pickle.dumps(sink)


def test_worker_tiles_come_before_the_parents_next_and_bad_ones_are_refused():
    sink = geolargeimage.new()
    worker = pickle.loads(pickle.dumps(sink))
    worker.addTile(np.full((10, 10, 3), 1, np.uint8), 0, 0, z=np.int64(0),
                   z_value=np.float32(1.5))
    sink.addTile(np.full((10, 10, 3), 2, np.uint8), 0, 0, z=0)  # added later: it wins
    assert sink.getRegion(format='numpy')[0][5, 5, 0] == 2
    worker.addTile(np.zeros((4, 4, 2), np.uint8), 0, 0)  # two bands: the parent has three
    with pytest.raises(errors.WriteError, match='refused.*band'):
        sink.getMetadata()
    assert sink.getRegion(format='numpy')[0][5, 5, 0] == 2  # the sink goes on


def test_a_closed_shared_sink_still_tells_its_size():
    sink = geolargeimage.new()
    worker = pickle.loads(pickle.dumps(sink))
    worker.addTile(piece(0, 0), 0, 0)
    assert sink.sizeX == SIDE
    sink.close()
    assert sink.sizeX == SIDE  # nothing left to take, and no error
