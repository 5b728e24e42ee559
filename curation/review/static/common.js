// What the review pages share: their configuration, CSRF-protected JSON calls, keys, and clip pictures.

export const config = JSON.parse(document.getElementById("wc-config").textContent);
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

/** Return the element with this id. */
export const $ = (id) => document.getElementById(id);

/** Fill a URL template such as "/review/api/clips/{id}/decision". */
export const withId = (template, id) => template.replace("{id}", encodeURIComponent(id));

/** Call a review endpoint with the session cookie and the page's CSRF token; return [status, body]. */
export async function call(url, body = undefined) {
  const options = { credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.headers["X-CSRFToken"] = csrfToken;
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({}));
  return [response.status, data];
}

/** Run handlers for single keys wherever focus is, except while the person types in a form field. */
export function onKeys(handlers) {
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const handler = handlers[key];
    if (!handler) return;
    const target = event.target instanceof Element ? event.target : document.body;
    if (target.closest("input:not([type=checkbox]):not([type=radio]), textarea, select, [contenteditable]")) return;
    event.preventDefault();
    handler(event);
  });
}

/** Return the samples (−1…1) and rate of a PCM16 mono WAV, as wordcrowd stores canonical clips. */
export function parseWav(buffer) {
  const view = new DataView(buffer);
  let offset = 12, rate = 16000;
  while (offset + 8 <= view.byteLength) {
    const id = String.fromCharCode(...new Uint8Array(buffer, offset, 4));
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt ") rate = view.getUint32(offset + 12, true);
    if (id === "data") {
      const count = Math.floor(Math.min(size, view.byteLength - offset - 8) / 2);
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(offset + 8 + 2 * i, true) / 32768;
      return { samples, rate };
    }
    offset += 8 + size + (size % 2);
  }
  return { samples: new Float32Array(0), rate };
}

/** Draw the waveform: the peak of each pixel column, mirrored around the middle. */
export function drawWave(canvas, samples) {
  const g = canvas.getContext("2d");
  const { width, height } = canvas;
  g.fillStyle = "#10141a";
  g.fillRect(0, 0, width, height);
  g.fillStyle = "#7fd0ff";
  const per = Math.max(1, Math.floor(samples.length / width));
  for (let x = 0; x < width; x++) {
    let peak = 0;
    for (let i = x * per; i < Math.min(samples.length, (x + 1) * per); i++) peak = Math.max(peak, Math.abs(samples[i]));
    const h = Math.max(1, peak * height);
    g.fillRect(x, (height - h) / 2, 1, h);
  }
}

function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const step = (-2 * Math.PI) / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < size / 2; k++) {
        const wr = Math.cos(step * k), wi = Math.sin(step * k);
        const a = start + k, b = a + size / 2;
        const tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr; im[b] = im[a] - ti; re[a] += tr; im[a] += ti;
      }
    }
  }
}

function heat(level) {
  // dark blue → purple → orange → pale yellow, for 0…1
  const stops = [[16, 20, 26], [84, 39, 143], [222, 93, 62], [252, 236, 168]];
  const x = Math.min(0.999, Math.max(0, level)) * (stops.length - 1);
  const i = Math.floor(x), f = x - i;
  return stops[i].map((c, k) => Math.round(c + f * (stops[i + 1][k] - c)));
}

/**
 * Draw a log-power spectrogram (25 ms Hann windows every 10 ms, 80 dB range). A clip with more frames than
 * the canvas has columns (30 s of room sound: 3000 frames, 800 columns) gets one frame per column.
 */
export function drawSpectrogram(canvas, samples, rate) {
  const size = 512, win = Math.round(rate * 0.025), hop = Math.round(rate * 0.01);
  const frames = Math.max(1, Math.floor((samples.length - win) / hop) + 1);
  const shown = Math.min(frames, canvas.width);
  const bins = size / 2, power = [];
  let top = -Infinity;
  for (let c = 0; c < shown; c++) {
    const f = Math.floor((c * frames) / shown);
    const re = new Float64Array(size), im = new Float64Array(size);
    for (let i = 0; i < win && f * hop + i < samples.length; i++) {
      re[i] = samples[f * hop + i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (win - 1)));
    }
    fft(re, im);
    const column = new Float32Array(bins);
    for (let k = 0; k < bins; k++) {
      column[k] = 10 * Math.log10(re[k] * re[k] + im[k] * im[k] + 1e-12);
      top = Math.max(top, column[k]);
    }
    power.push(column);
  }
  const g = canvas.getContext("2d");
  const image = g.createImageData(canvas.width, canvas.height);
  for (let x = 0; x < canvas.width; x++) {
    const column = power[Math.min(shown - 1, Math.floor((x * shown) / canvas.width))];
    for (let y = 0; y < canvas.height; y++) {
      const k = Math.min(bins - 1, Math.floor(((canvas.height - 1 - y) * bins) / canvas.height));
      const [r, gr, b] = heat((column[k] - top + 80) / 80);
      const at = 4 * (y * canvas.width + x);
      image.data.set([r, gr, b, 255], at);
    }
  }
  g.putImageData(image, 0, 0);
}
