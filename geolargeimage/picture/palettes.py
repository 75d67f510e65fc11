"""Colour palettes for styles: colour lists, single colours and named palettes → RGBA stops.

A palette is an ``(n, 4)`` float array of RGBA stops on a 0–255 scale, spread evenly over the
normalised range 0..1 (see :mod:`geolargeimage.picture.styling`). Names resolve in
large_image's order: a colour first (so ``'gray'`` is the CSS colour, giving black → #808080),
then the built-in palettes below, then palettable-style ``'matplotlib.Plasma_6'`` names, then
palettable and matplotlib when they happen to be installed (neither is a dependency).

The built-in tables are matplotlib's, rounded the way ``matplotlib.colors.to_hex`` rounds, so a
name gives the same stops large_image gets from matplotlib: the 256-entry perceptual maps by
Nathaniel J. Smith, Stéfan van der Walt and Eric Firing (CC0) and cividis by Jamie R. Nuñez,
Christopher R. Anderton and Ryan S. Renslow; Cynthia Brewer's ColorBrewer schemes (Apache-2.0
style licence, see colorbrewer2.org); and ``terrain`` with its six stops evenly spaced, as
large_image flattens matplotlib's segment data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from operator import attrgetter

import numpy as np
from PIL import ImageColor

from geolargeimage.errors import OptionsError

# Pure channels, as large_image spells them: CSS 'green' is #008000, which is rarely what a
# band style means. Exact case only, like large_image ('green' stays the CSS colour).
CHANNEL_COLOURS = {'R': '#ff0000', 'G': '#00ff00', 'B': '#0000ff',
                   'RED': '#ff0000', 'GREEN': '#00ff00', 'BLUE': '#0000ff'}

#: Built-in palettes as concatenated ``rrggbb`` stops.
_TABLES: dict[str, tuple[str, ...]] = {
    'viridis': (
        '44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467'
        '48166848176948186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677'
        '482878482979472a7a472c7a472d7b472e7c472f7d46307e46327e46337f463480453581453781453882'
        '443983443a83443b84433d84433e85423f854240864241864142874144874045884046883f47883f4889'
        '3e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b3b528b3a538b3a548c39558c39568c38588c'
        '38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d33638d32648e32658e31668e'
        '31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e2c728e2c738e'
        '2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e'
        '26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d'
        '218f8d21908d21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a'
        '1e9c891e9d891f9e891f9f881fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a884'
        '23a98324aa8325ab8225ac8226ad8127ad8128ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b'
        '32b67a34b67935b77937b87838b9773aba763bbb753dbc743fbc7340bd7242be7144bf7046c06f48c16e'
        '4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc8635ec96260ca6063cb5f65cb5e'
        '67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d84d44b86d549'
        '89d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32'
        'addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11c'
        'd2e21bd5e21ad8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61e'
        'f6e620f8e621fbe723fde725'
    ),
    'plasma': (
        '0d088710078813078916078a19068c1b068d1d068e20068f2206902406912605912805922a05932c0594'
        '2e05952f059631059733059735049837049938049a3a049a3c049b3e049c3f049c41049d43039e44039e'
        '46039f48039f4903a04b03a14c02a14e02a25002a25102a35302a35502a45601a45801a45901a55b01a5'
        '5c01a65e01a66001a66100a76300a76400a76600a76700a86900a86a00a86c00a86e00a86f00a87100a8'
        '7201a87401a87501a87701a87801a87a02a87b02a87d03a87e03a88004a88104a78305a78405a78606a6'
        '8707a68808a68a09a58b0aa58d0ba58e0ca48f0da4910ea3920fa39410a29511a19613a19814a099159f'
        '9a169f9c179e9d189d9e199da01a9ca11b9ba21d9aa31e9aa51f99a62098a72197a82296aa2395ab2494'
        'ac2694ad2793ae2892b02991b12a90b22b8fb32c8eb42e8db52f8cb6308bb7318ab83289ba3388bb3488'
        'bc3587bd3786be3885bf3984c03a83c13b82c23c81c33d80c43e7fc5407ec6417dc7427cc8437bc9447a'
        'ca457acb4679cc4778cc4977cd4a76ce4b75cf4c74d04d73d14e72d24f71d35171d45270d5536fd5546e'
        'd6556dd7566cd8576bd9586ada5a6ada5b69db5c68dc5d67dd5e66de5f65de6164df6263e06363e16462'
        'e26561e26660e3685fe4695ee56a5de56b5de66c5ce76e5be76f5ae87059e97158e97257ea7457eb7556'
        'eb7655ec7754ed7953ed7a52ee7b51ef7c51ef7e50f07f4ff0804ef1814df1834cf2844bf3854bf3874a'
        'f48849f48948f58b47f58c46f68d45f68f44f79044f79143f79342f89441f89540f9973ff9983ef99a3e'
        'fa9b3dfa9c3cfa9e3bfb9f3afba139fba238fca338fca537fca636fca835fca934fdab33fdac33fdae32'
        'fdaf31fdb130fdb22ffdb42ffdb52efeb72dfeb82cfeba2cfebb2bfebd2afebe2afec029fdc229fdc328'
        'fdc527fdc627fdc827fdca26fdcb26fccd25fcce25fcd025fcd225fbd324fbd524fbd724fad824fada24'
        'f9dc24f9dd25f8df25f8e125f7e225f7e425f6e626f6e826f5e926f5eb27f4ed27f3ee27f3f027f2f227'
        'f1f426f1f525f0f724f0f921'
    ),
    'inferno': (
        '00000401000501010601010802010a02020c02020e03021004031204031405041706041907051b08051d'
        '09061f0a07220b07240c08260d08290e092b10092d110a30120a32140b34150b37160b39180c3c190c3e'
        '1b0c411c0c431e0c451f0c48210c4a230c4c240c4f260c51280b53290b552b0b572d0b592f0a5b310a5c'
        '320a5e340a5f3609613809623909633b09643d09653e0966400a67420a68440a68450a69470b6a490b6a'
        '4a0c6b4c0c6b4d0d6c4f0d6c510e6c520e6d540f6d550f6d57106e59106e5a116e5c126e5d126e5f136e'
        '61136e62146e64156e65156e67166e69166e6a176e6c186e6d186e6f196e71196e721a6e741a6e751b6e'
        '771c6d781c6d7a1d6d7c1d6d7d1e6d7f1e6c801f6c82206c84206b85216b87216b88226a8a226a8c2369'
        '8d23698f24699025689225689326679526679727669827669a28659b29649d29649f2a63a02a63a22b62'
        'a32c61a52c60a62d60a82e5fa92e5eab2f5ead305dae305cb0315bb1325ab3325ab43359b63458b73557'
        'b93556ba3655bc3754bd3853bf3952c03a51c13a50c33b4fc43c4ec63d4dc73e4cc83f4bca404acb4149'
        'cc4248ce4347cf4446d04545d24644d34743d44842d54a41d74b3fd84c3ed94d3dda4e3cdb503bdd513a'
        'de5238df5337e05536e15635e25734e35933e45a31e55c30e65d2fe75e2ee8602de9612bea632aeb6429'
        'eb6628ec6726ed6925ee6a24ef6c23ef6e21f06f20f1711ff1731df2741cf3761bf37819f47918f57b17'
        'f57d15f67e14f68013f78212f78410f8850ff8870ef8890cf98b0bf98c0af98e09fa9008fa9207fa9407'
        'fb9606fb9706fb9906fb9b06fb9d07fc9f07fca108fca309fca50afca60cfca80dfcaa0ffcac11fcae12'
        'fcb014fcb216fcb418fbb61afbb81dfbba1ffbbc21fbbe23fac026fac228fac42afac62df9c72ff9c932'
        'f9cb35f8cd37f8cf3af7d13df7d340f6d543f6d746f5d949f5db4cf4dd4ff4df53f4e156f3e35af3e55d'
        'f2e661f2e865f2ea69f1ec6df1ed71f1ef75f1f179f2f27df2f482f3f586f3f68af4f88ef5f992f6fa96'
        'f8fb9af9fc9dfafda1fcffa4'
    ),
    'magma': (
        '00000401000501010601010802010902020b02020d03030f03031204041405041606051806051a07061c'
        '08071e0907200a08220b09240c09260d0a290e0b2b100b2d110c2f120d31130d34140e36150e38160f3b'
        '180f3d19103f1a10421c10441d11471e114920114b21114e22115024125325125527125829115a2a115c'
        '2c115f2d11612f116331116533106734106936106b38106c390f6e3b0f703d0f713f0f72400f74420f75'
        '440f764510774710784910784a10794c117a4e117b4f127b51127c52137c54137d56147d57157e59157e'
        '5a167e5c167f5d177f5f187f601880621980641a80651a80671b80681c816a1c816b1d816d1d816e1e81'
        '701f81721f817320817521817621817822817922827b23827c23827e2482802582812581832681842681'
        '8627818827818928818b29818c29818e2a81902a81912b81932b80942c80962c80982d80992d809b2e7f'
        '9c2e7f9e2f7fa02f7fa1307ea3307ea5317ea6317da8327daa337dab337cad347cae347bb0357bb2357b'
        'b3367ab5367ab73779b83779ba3878bc3978bd3977bf3a77c03a76c23b75c43c75c53c74c73d73c83e73'
        'ca3e72cc3f71cd4071cf4070d0416fd2426fd3436ed5446dd6456cd8456cd9466bdb476adc4869de4968'
        'df4a68e04c67e24d66e34e65e44f64e55064e75263e85362e95462ea5661eb5760ec5860ed5a5fee5b5e'
        'ef5d5ef05f5ef1605df2625df2645cf3655cf4675cf4695cf56b5cf66c5cf66e5cf7705cf7725cf8745c'
        'f8765cf9785df9795df97b5dfa7d5efa7f5efa815ffb835ffb8560fb8761fc8961fc8a62fc8c63fc8e64'
        'fc9065fd9266fd9467fd9668fd9869fd9a6afd9b6bfe9d6cfe9f6dfea16efea36ffea571fea772fea973'
        'feaa74feac76feae77feb078feb27afeb47bfeb67cfeb77efeb97ffebb81febd82febf84fec185fec287'
        'fec488fec68afec88cfeca8dfecc8ffecd90fecf92fed194fed395fed597fed799fed89afdda9cfddc9e'
        'fddea0fde0a1fde2a3fde3a5fde5a7fde7a9fde9aafdebacfcecaefceeb0fcf0b2fcf2b4fcf4b6fcf6b8'
        'fcf7b9fcf9bbfcfbbdfcfdbf'
    ),
    'cividis': (
        '00224e00234f00245100255300255400265600275800285900285b00295d002a5f002a61002b62002c64'
        '002c66002d68002e6a002e6c002f6d00306f0030700031700031710132710533710833700c34700f3570'
        '12357014367016377018376f1a386f1c396f1e3a6f203a6f213b6e233c6e243c6e263d6e273e6e293f6e'
        '2a3f6d2b406d2d416d2e416d2f426d31436d32436d33446d34456c35456c36466c38476c39486c3a486c'
        '3b496c3c4a6c3d4a6c3e4b6c3f4c6c404c6c414d6c424e6c434e6c444f6c45506c46516c47516c48526c'
        '49536c4a536c4b546c4c556c4d556c4e566c4f576c50576c51586d52596d535a6d545a6d555b6d555c6d'
        '565c6d575d6d585e6d595e6e5a5f6e5b606e5c616e5d616e5e626e5e636f5f636f60646f61656f62656f'
        '636670646770656870656870666970676a71686a71696b716a6c716b6d726c6d726c6e726d6f726e6f73'
        '6f70737071737172747272747273747374757474757575757676767777767777777878777979777a7a78'
        '7b7a787c7b787d7c787e7c787e7d787f7e78807f78817f78828079838179848279858279868379878478'
        '8885788985788a86788b87788c88788d88788e89788f8a78908b78918b78928c78928d78938e78948e77'
        '958f779690779791779892779992779a93769b94769c95769d95769e96769f9775a09875a19975a29975'
        'a39a74a49b74a59c74a69c74a79d73a89e73a99f73aaa073aba072aca172ada272aea371afa471b0a571'
        'b1a570b3a670b4a76fb5a86fb6a96fb7a96eb8aa6eb9ab6dbaac6dbbad6dbcae6cbdae6cbeaf6bbfb06b'
        'c0b16ac1b26ac2b369c3b369c4b468c5b568c6b667c7b767c8b866c9b965cbb965ccba64cdbb63cebc63'
        'cfbd62d0be62d1bf61d2c060d3c05fd4c15fd5c25ed6c35dd7c45cd9c55cdac65bdbc75adcc859ddc858'
        'dec958dfca57e0cb56e1cc55e2cd54e4ce53e5cf52e6d051e7d150e8d24fe9d34eead34cebd44bedd54a'
        'eed649efd748f0d846f1d945f2da44f3db42f5dc41f6dd3ff7de3ef8df3cf9e03afbe138fce236fde334'
        'fee434fee535fee636fee838'
    ),
    'greys': (
        'fffffff0f0f0d9d9d9bdbdbd969696737373525252252525000000'
    ),
    'reds': (
        'fff5f0fee0d2fcbba1fc9272fb6a4aef3b2ccb181da50f1567000d'
    ),
    'greens': (
        'f7fcf5e5f5e0c7e9c0a1d99b74c47641ab5d238b45006d2c00441b'
    ),
    'blues': (
        'f7fbffdeebf7c6dbef9ecae16baed64292c62171b508519c08306b'
    ),
    'spectral': (
        '9e0142d53e4ff46d43fdae61fee08bffffbfe6f598abdda466c2a53288bd5e4fa2'
    ),
    'rdylgn': (
        'a50026d73027f46d43fdae61fee08bffffbfd9ef8ba6d96a66bd631a9850006837'
    ),
    'terrain': (
        '3333990099ff00cc66ffff99805c54ffffff'
    ),
}

# palettable's matplotlib family: 'matplotlib.Viridis_8' or 'matplotlib.Viridis_8_r'.
_PALETTABLE_NAME = re.compile(r'matplotlib\.([a-z]+)_(\d+)(_r)?', re.IGNORECASE)
# Only the 256-entry maps: palettable samples these; its ColorBrewer sizes are separate designs.
_PALETTABLE_BASES = ('viridis', 'plasma', 'inferno', 'magma', 'cividis')


def parse_palette(value: object) -> np.ndarray:
    """RGBA stops (an ``(n, 4)`` float array, 0–255) of a style's ``palette`` value.

    ``value`` is a list of colours (CSS hex ``#rgb``/``#rgba``/``#rrggbb``/``#rrggbbaa``,
    ``rgb()``/``rgba()``/``hsl()`` strings, CSS names, ``R``/``G``/``B``/``RED``/``GREEN``/``BLUE``
    as pure channels, or 0–1 float 3/4-tuples); a single colour ``c``, meaning ``['#000', c]``; a
    palette name (``viridis``, ``plasma``, ``inferno``, ``magma``, ``cividis``, ``greys``,
    ``reds``, ``greens``, ``blues``, ``spectral``, ``rdylgn``, ``terrain``, any of them with
    ``_r`` for reversed); palettable's ``matplotlib.Plasma_6`` (that map sampled at 6 evenly
    spaced entries); or, when installed, any palettable or matplotlib name. An ``(n, 3|4)`` numpy
    array is taken as stops already on the 0–255 scale.

    Raises
    ------
    OptionsError
        The value is none of these.

    >>> parse_palette('#f00')
    array([[  0.,   0.,   0., 255.],
           [255.,   0.,   0., 255.]])
    >>> parse_palette('matplotlib.Plasma_6')[3]
    array([225., 100.,  98., 255.])
    """
    if isinstance(value, np.ndarray):
        return _from_array(value)
    if isinstance(value, (list, tuple)):
        if not value or all(isinstance(v, (int, float)) and not isinstance(v, bool)
                            for v in value):
            # [] or a bare number tuple such as (1, 0, 0): not a list of colours.
            raise _not_a_palette(value)
        return _stops([_colour(entry, value) for entry in value])
    if not isinstance(value, str) or not value.strip():
        raise _not_a_palette(value)
    name = value.strip()
    single = _css_colour(name)
    if single is not None:
        return _stops([(0, 0, 0, 255), single])
    stops = _named(name)
    if stops is None:
        stops = _optional_packages(name)
    if stops is None:
        raise _not_a_palette(value)
    return stops


def palette_names() -> list[str]:
    """The built-in palette names (each also works with ``_r``).

    >>> palette_names()[:3]
    ['blues', 'cividis', 'greens']
    """
    return sorted(_TABLES)


def _not_a_palette(value: object) -> OptionsError:
    return OptionsError(
        f'{value!r} cannot be used as a color palette; use a list of colours, one colour, or a '
        f'palette name such as {", ".join(palette_names())} or matplotlib.Plasma_6')


def _stops(colours: Sequence[Sequence[float]]) -> np.ndarray:
    # Whole numbers: large_image's GDAL source stores every palette as '#RRGGBBAA' (truncating).
    stops = np.floor(np.clip(np.array(colours, dtype=np.float64).reshape(-1, 4), 0, 255))
    stops.flags.writeable = False  # palettes are shared between frozen styles
    return stops


def _from_array(array: np.ndarray) -> np.ndarray:
    if array.ndim != 2 or array.shape[1] not in (3, 4) or not len(array) \
            or not np.issubdtype(array.dtype, np.number):
        raise _not_a_palette(array)
    if array.shape[1] == 3:
        array = np.column_stack([array, np.full(len(array), 255.0)])
    return _stops(array)


def _css_colour(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(ImageColor.getcolor(CHANNEL_COLOURS.get(text, text), 'RGBA'))
    except ValueError:
        return None


def _colour(entry: object, palette: object) -> tuple[float, ...]:
    if isinstance(entry, (list, tuple, np.ndarray)) and len(entry) in (3, 4):
        try:
            values = [float(v) for v in entry]
        except (TypeError, ValueError):
            raise _not_a_palette(palette) from None
        return tuple(v * 255 for v in (values + [1.0])[:4])
    if isinstance(entry, str):
        colour = _css_colour(entry.strip()) or _matplotlib_colour(entry.strip())
        if colour is not None:
            return colour
    raise _not_a_palette(palette)


@lru_cache(maxsize=None)
def _table(name: str) -> np.ndarray:
    digits = ''.join(_TABLES[name])
    rgb = np.frombuffer(bytes.fromhex(digits), dtype=np.uint8).reshape(-1, 3)
    return _stops(np.column_stack([rgb, np.full(len(rgb), 255)]))


def _named(name: str) -> np.ndarray | None:
    key = name.lower()
    reverse = key.endswith('_r') and key[:-2] in _TABLES
    key = key[:-2] if reverse else key
    if key in _TABLES:
        return _stops(_table(key)[::-1]) if reverse else _table(key)
    match = _PALETTABLE_NAME.fullmatch(name)
    if match and match.group(1).lower() in _PALETTABLE_BASES:
        table = _table(match.group(1).lower())
        count = int(match.group(2))
        if not 2 <= count <= len(table):
            return None
        # palettable's evenly spaced entries: round(i * (len - 1) / (count - 1)), half to even.
        step = (len(table) - 1) / (count - 1)
        stops = table[[int(round(step * i)) for i in range(count)]]
        return _stops(stops[::-1] if match.group(3) else stops)
    return None


def _optional_packages(name: str) -> np.ndarray | None:
    """palettable and matplotlib names, when those packages are installed."""
    try:
        import palettable
    except ImportError:
        palettable = None
    if palettable is not None:
        try:
            return _stops([_colour(c, name) for c in attrgetter(name)(palettable).hex_colors])
        except (AttributeError, OptionsError):
            pass
    try:
        import matplotlib as mpl
    except ImportError:
        return None
    if name in mpl.colors.get_named_colors_mapping():
        # large_image: a matplotlib-only colour fades in from transparent black.
        return _stops([(0, 0, 0, 0), _matplotlib_colour(name)])
    try:
        cmap = mpl.colormaps[name]
    except (KeyError, ValueError):
        return None
    return _stops(_colormap_stops(cmap))


def _colormap_stops(cmap: object) -> list[tuple[int, ...]]:
    """A matplotlib colormap as large_image samples it: the stops of a segmented map (each
    distinct colour once), else every entry of the lookup table."""
    import matplotlib as mpl

    segments = getattr(cmap, '_segmentdata', None)
    if isinstance(cmap, mpl.colors.LinearSegmentedColormap) and isinstance(segments, dict) \
            and all(not callable(segments[c]) for c in ('red', 'green', 'blue')):
        channels = [segments[c] for c in ('red', 'green', 'blue')]
        alpha = segments.get('alpha')
        stops: list[tuple[int, ...]] = []
        for idx in range(len(channels[0])):
            stop = tuple(int(round(float(ch[idx][-1]) * 255)) for ch in channels)
            stop += (int(round(float(alpha[idx][-1]) * 255)) if alpha is not None else 255,)
            if not stops or stops[-1] != stop:
                stops.append(stop)
        return stops
    return [tuple(round(v * 255) for v in cmap(i)) for i in range(cmap.N)]


def _matplotlib_colour(text: str) -> tuple[float, ...] | None:
    try:
        import matplotlib as mpl
        return tuple(round(v * 255) for v in mpl.colors.to_rgba(text))
    except (ImportError, ValueError):
        return None
