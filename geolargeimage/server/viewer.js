// The geolargeimage viewer: a Leaflet map of one served file, with frame, band, min/max and
// palette controls and the pixel value under a click. Plain JavaScript, no build step; every
// URL is relative, so the page works under any prefix and offline.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { sources: [], source: null, metadata: null, frames: null, map: null,
                  layer: null, bounds: null, marker: null, lastClick: null };
  // For tests and the browser console.
  window.geolargeimageViewer = state;

  // Edge tiles of pixel grids are requested cropped (edge=crop): size them by their pixels
  // instead of stretching them to a whole tile.
  const CroppedTileLayer = L.TileLayer.extend({
    createTile(coords, done) {
      const tile = L.TileLayer.prototype.createTile.call(this, coords, done);
      if (this.options.crop) {
        tile.addEventListener('load', () => {
          const full = this.options.tileSize;
          const shown = parseFloat(tile.style.width) || full;
          tile.style.width = (tile.naturalWidth * shown / full) + 'px';
          tile.style.height = (tile.naturalHeight * shown / full) + 'px';
        });
      }
      return tile;
    },
  });

  async function errorText(response) {
    try {
      return (await response.json()).detail || response.statusText;
    } catch (error) {
      return response.statusText;
    }
  }

  async function getJSON(url) {
    const response = await fetch(url);
    if (!response.ok) {
      throw new Error(`${response.status}: ${await errorText(response)}`);
    }
    return response.json();
  }

  function status(message) {
    $('status').textContent = message || '';
  }

  function sourceUrl(path) {
    return `sources/${encodeURIComponent(state.source.id)}/${path}`;
  }

  function withQuery(url, params) {
    const query = params.toString();
    return query ? `${url}?${query}` : url;
  }

  // frame, band, min, max, palette: what every image and pixel request shows.
  function lookParams() {
    const params = new URLSearchParams();
    if (state.source.frames > 1) {
      params.set('frame', $('frame').value);
    }
    for (const key of ['band', 'min', 'max', 'palette']) {
      const value = $(key).value.trim();
      if (value !== '') {
        params.set(key, value);
      }
    }
    return params;
  }

  function tileUrl() {
    const params = lookParams();
    if (state.source.crs === 'pixel') {
      params.set('edge', 'crop');
    }
    return withQuery(sourceUrl('tiles/{z}/{x}/{y}.png'), params);
  }

  // A band's colour interpretation, unless GDAL says it has none.
  function interpretation(band) {
    const info = (state.metadata.bands || {})[band];
    const name = info && info.interpretation;
    return name && name !== 'undefined' ? name : '';
  }

  function formatNumber(value) {
    if (value === null || value === undefined) {
      return 'none';
    }
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(7)));
  }

  // -- controls ----------------------------------------------------------------------------------
  function fillBands() {
    const select = $('band');
    const bands = state.metadata.bands || {};
    const names = Object.keys(bands);
    const colour = ['red', 'green', 'blue'].every(
      (name) => names.some((key) => bands[key].interpretation === name));
    select.replaceChildren(new Option(colour ? 'default (RGB)' : 'default', ''));
    for (const key of names) {
      select.append(new Option(`${key}: ${interpretation(key) || 'band'}`, key));
    }
  }

  function updatePlaceholders() {
    const bands = state.metadata.bands || {};
    const band = bands[$('band').value || '1'] || {};
    $('min').placeholder = band.min === undefined ? 'auto' : formatNumber(band.min);
    $('max').placeholder = band.max === undefined ? 'auto' : formatNumber(band.max);
  }

  function frameLabel(index) {
    const frame = (state.frames && state.frames.frames || [])[index] || {};
    const axes = Object.keys(frame).filter((key) => key.startsWith('Index') && key !== 'Index')
      .map((key) => `${key.slice(5).toLowerCase()}=${frame[key]}`);
    const channels = state.frames && state.frames.channels;
    const channel = channels && frame.IndexC !== undefined ? ` (${channels[frame.IndexC]})` : '';
    return `${index + 1} / ${state.source.frames}` + (axes.length ? ` · ${axes.join(', ')}` : '')
      + channel;
  }

  function fillFrames(first) {
    const box = $('frame-box');
    const slider = $('frame');
    box.hidden = state.source.frames < 2;
    slider.max = String(Math.max(0, state.source.frames - 1));
    const frame = first ? Number(initial.get('frame')) || 0 : 0;
    slider.value = String(Math.max(0, Math.min(frame, state.source.frames - 1)));
    $('frame-label').textContent = frameLabel(Number(slider.value));
  }

  function fillInfo() {
    const source = state.source;
    const metadata = state.metadata;
    const grid = source.crs === 'pixel' ? 'pixel grid' : 'web mercator';
    $('info').textContent = `${source.name}: ${metadata.sizeX} × ${metadata.sizeY} px, `
      + `${metadata.bandCount} × ${metadata.dtype}, ${grid}, zoom ${source.minzoom}–`
      + `${source.maxzoom}` + (source.frames > 1 ? `, ${source.frames} frames` : '');
  }

  // -- the map -----------------------------------------------------------------------------------
  function buildMap() {
    const source = state.source;
    const pixel = source.crs === 'pixel';
    if (state.map) {
      state.map.remove();
    }
    const map = L.map('map', { crs: pixel ? L.CRS.Simple : L.CRS.EPSG3857,
                               minZoom: pixel ? -4 : 0, maxZoom: source.maxzoom + 3,
                               attributionControl: false });
    let bounds;
    if (pixel) {
      // Map units are pixels of level 0, so Leaflet's tile (x, y, z) is large_image's.
      const scale = 2 ** source.maxzoom;
      bounds = L.latLngBounds([[-source.sizeY / scale, 0], [0, source.sizeX / scale]]);
    } else {
      const [west, south, east, north] = source.bounds;
      // West > east crosses the antimeridian: Leaflet wants the east edge past 180.
      bounds = L.latLngBounds([[south, west], [north, east < west ? east + 360 : east]]);
    }
    state.map = map;
    state.bounds = bounds;
    state.marker = null;
    state.layer = new CroppedTileLayer(tileUrl(), {
      tileSize: source.tileSize, minNativeZoom: source.minzoom, maxNativeZoom: source.maxzoom,
      minZoom: map.getMinZoom(), maxZoom: map.getMaxZoom(), bounds: bounds, noWrap: true,
      crop: pixel,
    });
    state.layer.on('tileerror', (event) => tileError(event.tile.src));
    state.layer.on('load', () => { document.body.dataset.tilesLoaded = 'true'; });
    state.layer.addTo(map);
    map.on('click', (event) => showPixel(event.latlng));
    map.fitBounds(bounds);
  }

  let lastError = '';
  async function tileError(url) {
    if (url === lastError) {
      return;
    }
    lastError = url;
    try {
      const response = await fetch(url);
      if (!response.ok) {
        status(`Tiles: ${response.status} ${await errorText(response)}`);
      }
    } catch (error) {
      status(`Tiles: ${error.message}`);
    }
  }

  function restyle() {
    status('');
    lastError = '';
    $('frame-label').textContent = frameLabel(Number($('frame').value));
    state.layer.setUrl(tileUrl());
    if (state.lastClick) {
      showPixel(state.lastClick);
    }
  }

  // -- pixel values ------------------------------------------------------------------------------
  async function showPixel(latlng) {
    const source = state.source;
    const params = lookParams();
    const box = $('pixel-value');
    let where;
    if (source.crs === 'pixel') {
      const scale = 2 ** source.maxzoom;
      const x = Math.floor(latlng.lng * scale);
      const y = Math.floor(-latlng.lat * scale);
      params.set('x', x);
      params.set('y', y);
      where = `x ${x}, y ${y}`;
    } else {
      const point = latlng.wrap();
      params.set('x', point.lng);
      params.set('y', point.lat);
      params.set('units', 'EPSG:4326');
      where = `lon ${point.lng.toFixed(6)}, lat ${point.lat.toFixed(6)}`;
    }
    state.lastClick = latlng;
    if (state.marker) {
      state.marker.setLatLng(latlng);
    } else {
      state.marker = L.circleMarker(latlng, { radius: 5, color: '#ff0', weight: 2 })
        .addTo(state.map);
    }
    box.dataset.query = params.toString();
    box.textContent = `${where}: …`;
    let result;
    try {
      result = await getJSON(withQuery(sourceUrl('pixel'), params));
    } catch (error) {
      box.textContent = `${where}: ${error.message}`;
      return;
    }
    if (box.dataset.query !== params.toString()) {
      return; // a later click won
    }
    box.dataset.result = JSON.stringify(result);
    if (!result.bands && !result.value) {
      box.textContent = `${where}: outside the image`;
      return;
    }
    const lines = Object.entries(result.bands || {}).map(([band, value]) =>
      `band ${band}${interpretation(band) ? ` (${interpretation(band)})` : ''}: `
      + formatNumber(value));
    const shown = ['r', 'g', 'b', 'l', 'a'].filter((key) => key in result);
    if (shown.length) {
      lines.push(`shown: ${shown.map((key) => `${key} ${result[key]}`).join(', ')}`);
    }
    box.textContent = `${where}\n${lines.join('\n')}`;
  }

  // -- start -------------------------------------------------------------------------------------
  // The page's own query (?source=&frame=&band=&min=&max=&palette=) sets the first view.
  const initial = new URLSearchParams(location.search);

  async function loadSource(id, first = false) {
    state.source = state.sources.find((source) => source.id === id) || state.sources[0];
    $('source').value = state.source.id;
    state.lastClick = null;
    $('pixel-value').textContent = 'Click the map for the pixel value.';
    delete $('pixel-value').dataset.result;
    state.metadata = await getJSON(sourceUrl('metadata'));
    state.frames = state.source.frames > 1 ? await getJSON(sourceUrl('frames')) : null;
    fillBands();
    for (const key of ['band', 'min', 'max', 'palette']) {
      $(key).value = first ? initial.get(key) || '' : '';
    }
    updatePlaceholders();
    fillFrames(first);
    fillInfo();
    buildMap();
    document.body.dataset.ready = 'true';
  }

  function debounce(fn, ms) {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  async function start() {
    const [sources, palettes] = await Promise.all([getJSON('sources'), getJSON('palettes')]);
    state.sources = sources;
    for (const source of sources) {
      $('source').append(new Option(source.id, source.id));
    }
    for (const name of palettes) {
      $('palette').append(new Option(name, name));
    }
    $('source').addEventListener('change', (event) => {
      delete document.body.dataset.ready;
      loadSource(event.target.value).catch((error) => status(error.message));
    });
    $('zoom-bounds').addEventListener('click', () => state.map.fitBounds(state.bounds));
    $('frame').addEventListener('input', debounce(restyle, 150));
    $('frame').addEventListener('change', restyle);
    $('band').addEventListener('change', () => { updatePlaceholders(); restyle(); });
    for (const id of ['min', 'max', 'palette']) {
      $(id).addEventListener('change', restyle);
    }
    $('reset').addEventListener('click', () => {
      for (const id of ['band', 'min', 'max', 'palette']) {
        $(id).value = '';
      }
      updatePlaceholders();
      restyle();
    });
    await loadSource(initial.get('source'), true);
  }

  start().catch((error) => status(error.message));
}());
