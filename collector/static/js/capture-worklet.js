// AudioWorklet: copy the microphone's Float32 samples, at the device rate, to the page in blocks.

const BLOCK = 2048;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.recording = false;
    this.block = new Float32Array(BLOCK);
    this.filled = 0;
    this.port.onmessage = (event) => {
      if (event.data === "start") {
        this.filled = 0;
        this.recording = true;
      } else if (event.data === "stop") {
        this.flush();
        this.recording = false;
        this.port.postMessage({ done: true });
      }
    };
  }

  flush() {
    if (this.filled === 0) return;
    const samples = this.block.slice(0, this.filled);
    this.port.postMessage({ samples }, [samples.buffer]);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!this.recording || !channel) return true;
    let offset = 0;
    while (offset < channel.length) {
      const count = Math.min(channel.length - offset, BLOCK - this.filled);
      this.block.set(channel.subarray(offset, offset + count), this.filled);
      this.filled += count;
      offset += count;
      if (this.filled === BLOCK) this.flush();
    }
    return true;
  }
}

registerProcessor("wordcrowd-capture", CaptureProcessor);
