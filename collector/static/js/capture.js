// The microphone: getUserMedia into an AudioWorklet, Float32 at the device rate, with a level callback.

import { peakOf } from "./audio.js";

function concat(chunks) {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export class Microphone {
  /** Ask for the microphone (raw: no echo cancellation, noise suppression or gain control). */
  static async open(workletUrl) {
    if (!navigator.mediaDevices?.getUserMedia || !window.AudioWorkletNode) throw new Error("unsupported");
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const context = new AudioContext(); // the device rate: the server resamples, losslessly kept here
    await context.audioWorklet.addModule(workletUrl);
    await context.resume();
    return new Microphone(stream, context);
  }

  constructor(stream, context) {
    this.stream = stream;
    this.context = context;
    this.node = new AudioWorkletNode(context, "wordcrowd-capture");
    const mute = context.createGain();
    mute.gain.value = 0;
    // routed to the output through a muted gain so that every browser keeps pulling the graph
    context.createMediaStreamSource(stream).connect(this.node).connect(mute).connect(context.destination);
    this.node.port.onmessage = (event) => this.receive(event.data);
    this.chunks = [];
  }

  get sampleRate() {
    return this.context.sampleRate;
  }

  /** Return the seconds of audio captured since start() (what was recorded, not the time that passed). */
  get capturedSeconds() {
    return (this.captured || 0) / this.context.sampleRate;
  }

  /** Start a take; `onLevel(peak)` is called for each block while recording. */
  start(onLevel) {
    this.chunks = [];
    this.captured = 0;
    this.onLevel = onLevel;
    this.node.port.postMessage("start");
  }

  /** Keep recording for `tailMs` (people stop early), then resolve with the take's samples. */
  stop(tailMs) {
    return new Promise((resolve) => {
      setTimeout(() => {
        this.finished = resolve;
        this.node.port.postMessage("stop");
      }, tailMs);
    });
  }

  receive(data) {
    if (data.samples) {
      this.chunks.push(data.samples);
      this.captured += data.samples.length;
      this.onLevel?.(peakOf(data.samples));
    } else if (data.done && this.finished) {
      const samples = concat(this.chunks);
      this.chunks = [];
      this.finished(samples);
      this.finished = null;
    }
  }
}
