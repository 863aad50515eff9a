// The console stream's sequence bookkeeping (docs/events.md, "Resume"),
// without a socket: feed it the messages, it says what to send or reload.
//
// While a resume is replayed: the stream's seq at hello (replayed messages
// are at or below it) and the highest live seq seen meanwhile. lastSeq
// moves past replayed messages only as they come, so that a connection lost
// during the replay resumes from the last one received.
export class ResumeState {
  constructor() {
    this.reset();
  }

  reset() {
    this.lastSeq = 0;      // the highest seq received in order
    this.streamSeq = 0;    // the highest seq of the current stream (from its hello on)
    this.resuming = false;
    this.resumeUpto = 0;
    this.liveDuringResume = 0;
  }

  // One message from the server. Returns what the client must do:
  // {send: {...}} a resume request, {reload: true} list again over REST,
  // or null.
  take(msg) {
    let out = null;
    if (msg.type === 'hello') {
      this.streamSeq = msg.last_seq;
      if (this.lastSeq > 0) {
        this.resuming = true;
        this.resumeUpto = msg.last_seq;
        this.liveDuringResume = 0;
        out = { send: { type: 'resume', after: this.lastSeq } };
      } else {
        out = { reload: true };  // a first connection: take the lists from REST
      }
    }
    // The stream could not resume (another stream, e.g. after the user's
    // cameras changed, or a restart): count from this stream from now on.
    if (msg.type === 'resume_gap') {
      this.resuming = false;
      this.lastSeq = this.streamSeq;
      out = { reload: true };
    }
    if (msg.type === 'resumed' && this.resuming) {
      this.resuming = false;
      this.lastSeq = Math.max(this.lastSeq, this.liveDuringResume);
    }
    if (typeof msg.seq === 'number') {
      if (this.resuming && msg.seq > this.resumeUpto) {
        this.liveDuringResume = Math.max(this.liveDuringResume, msg.seq);
      } else {
        this.lastSeq = Math.max(this.lastSeq, msg.seq);
      }
      this.streamSeq = Math.max(this.streamSeq, msg.seq);
    }
    return out;
  }
}
