// Lossless WAV encoding in the browser and the checks a recording gets before it is uploaded.

export const QUIET_PEAK_DBFS = -30;
export const SILENT_PEAK_DBFS = -40;
export const CLIPPED_FRACTION = 0.001;
export const SPEECH_ABOVE_FLOOR_DB = 15;
export const MIN_SECONDS = 0.5;
const FRAME_MS = 20;

/** Encode mono float samples in [-1, 1] as a 16-bit PCM WAV at the device's sample rate. */
export function encodeWav(samples, sampleRate) {
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const ascii = (offset, text) => [...text].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // bytes per second
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i += 1) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + 2 * i, Math.round(s * 32767), true);
  }
  return new Blob([view.buffer], { type: "audio/wav" });
}

const dbfs = (amplitude) => 20 * Math.log10(Math.max(amplitude, 1e-6));

/** Return the peak level of a block of samples in [0, 1] (for the level meter). */
export function peakOf(samples) {
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  return peak;
}

function frameEnergiesDb(samples, sampleRate) {
  const size = Math.max(1, Math.round((sampleRate * FRAME_MS) / 1000));
  const energies = [];
  for (let start = 0; start + size <= samples.length; start += size) {
    let sum = 0;
    for (let i = start; i < start + size; i += 1) sum += samples[i] * samples[i];
    energies.push(10 * Math.log10(sum / size + 1e-12));
  }
  return energies;
}

/**
 * Check a recording: duration, peak, clipping, and a simple energy detector for speech (some 20 ms frame
 * at least 15 dB above the quietest frames). Blocking warnings can only be cured by recording again.
 */
export function analyse(samples, sampleRate) {
  const seconds = samples.length / sampleRate;
  const peak = peakOf(samples);
  let clipped = 0;
  for (const s of samples) if (Math.abs(s) >= 0.999) clipped += 1;
  const energies = frameEnergiesDb(samples, sampleRate).sort((a, b) => a - b);
  const floor = energies.length ? energies[Math.floor(energies.length * 0.1)] : -120;
  const loudest = energies.length ? energies[energies.length - 1] : -120;
  const speech = dbfs(peak) >= SILENT_PEAK_DBFS && loudest - floor > SPEECH_ABOVE_FLOOR_DB;
  const report = {
    seconds,
    peakDbfs: dbfs(peak),
    clippedFraction: samples.length ? clipped / samples.length : 0,
    blocking: null,
    warnings: [],
  };
  if (seconds < MIN_SECONDS) report.blocking = "too_short";
  else if (!speech) report.blocking = "no_speech";
  if (report.peakDbfs < QUIET_PEAK_DBFS && !report.blocking) report.warnings.push("too_quiet");
  if (report.clippedFraction > CLIPPED_FRACTION) report.warnings.push("clipping");
  return report;
}
