"""Encode 8-bit pixel arrays as PNG, JPEG, WEBP, TIFF, ... bytes with Pillow.

:class:`ImageBytes` is ``bytes`` that also knows its MIME type (large_image's return type).
"""

from __future__ import annotations

import io

import imagecodecs
import numpy as np
from PIL import Image

from geolargeimage.enums import Encoding
from geolargeimage.options import TIFF_COMPRESSIONS, EncodeOptions

#: Channels → Pillow mode of an 8-bit image.
_MODES = {1: 'L', 2: 'LA', 3: 'RGB', 4: 'RGBA'}
#: Modes each format can store; others are converted to the first that fits.
_JPEG_MODES = {'L': 'L', 'LA': 'L', 'RGB': 'RGB', 'RGBA': 'RGB'}


class ImageBytes(bytes):
    """Encoded image data with a ``mimetype`` attribute.

    >>> ImageBytes(b'abc', 'image/png').mimetype
    'image/png'
    """

    def __new__(cls, data: bytes, mimetype: str) -> ImageBytes:
        obj = super().__new__(cls, data)
        obj.mimetype = mimetype
        return obj

    def __repr__(self) -> str:
        return f'ImageBytes<{len(self)} bytes, {self.mimetype}>'

    def _repr_png_(self) -> bytes | None:  # shown inline in Jupyter
        return bytes(self) if self.mimetype == 'image/png' else None

    def _repr_jpeg_(self) -> bytes | None:
        return bytes(self) if self.mimetype == 'image/jpeg' else None


def to_pil(pixels: np.ndarray) -> Image.Image:
    """A Pillow image of an ``(h, w, 1..4)`` uint8 array (L, LA, RGB or RGBA)."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in _MODES:
        raise ValueError(f'expected (h, w, 1-4) uint8 pixels, got {pixels.shape} {pixels.dtype}')
    mode = _MODES[pixels.shape[2]]
    data = pixels[:, :, 0] if mode == 'L' else pixels
    return Image.fromarray(np.ascontiguousarray(data), mode)


def encode_image(image: Image.Image, options: EncodeOptions) -> ImageBytes:
    """Encode a Pillow image with large_image's encoder settings (JPEG quality and subsampling,
    PNG compression level 2, TIFF compression)."""
    encoding = options.encoding
    if image.width == 0 or image.height == 0:
        return ImageBytes(b'', encoding.mimetype)
    params: dict[str, object] = {}
    if encoding is Encoding.JPEG:
        if image.mode not in ('L', 'RGB'):
            image = image.convert(_JPEG_MODES.get(image.mode, 'RGB'))
        params = {'quality': options.jpeg_quality, 'subsampling': options.jpeg_subsampling}
    elif encoding is Encoding.PNG:
        return encode_pixels(np.asarray(image).reshape(image.height, image.width, -1), options) \
            if image.mode in _MODES.values() else _pillow(image, encoding, {'compress_level': 2})
    elif encoding is Encoding.WEBP:
        params = {'quality': options.jpeg_quality, 'method': 0}
    elif encoding is Encoding.TIFF:
        params = {'compression': TIFF_COMPRESSIONS[options.tiff_compression]}
        if params['compression'] == 'jpeg':
            image = image.convert(_JPEG_MODES.get(image.mode, 'RGB'))
    elif encoding in (Encoding.GIF, Encoding.BMP) and image.mode == 'LA':
        image = image.convert('RGBA' if encoding is Encoding.GIF else 'L')
    return _pillow(image, encoding, params)


def _pillow(image: Image.Image, encoding: Encoding, params: dict[str, object]) -> ImageBytes:
    buffer = io.BytesIO()
    image.save(buffer, encoding.value, **params)
    return ImageBytes(buffer.getvalue(), encoding.mimetype)


def encode_pixels(pixels: np.ndarray, options: EncodeOptions) -> ImageBytes:
    """Encode an ``(h, w, 1..4)`` uint8 array.

    PNG goes through libspng (imagecodecs) at compression level 2: twice as fast as Pillow's
    encoder on tiles, and smaller; everything else through Pillow.
    """
    if pixels.size == 0:
        return ImageBytes(b'', options.encoding.mimetype)
    if options.encoding is Encoding.PNG and pixels.dtype == np.uint8 and pixels.ndim == 3:
        data = np.ascontiguousarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
        return ImageBytes(imagecodecs.spng_encode(data, level=2), options.encoding.mimetype)
    return encode_image(to_pil(pixels), options)
