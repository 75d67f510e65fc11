"""large_image's public constants."""

TILE_FORMAT_IMAGE = 'image'
TILE_FORMAT_PIL = 'PIL'
TILE_FORMAT_NUMPY = 'numpy'

#: Encoding name → MIME type.
TileOutputMimeTypes = {
    'JPEG': 'image/jpeg', 'PNG': 'image/png', 'WEBP': 'image/webp', 'TIFF': 'image/tiff',
    'GIF': 'image/gif', 'BMP': 'image/bmp',
}
