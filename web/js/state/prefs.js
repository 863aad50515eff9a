// A user's console preferences kept on the server
// (GET/PATCH /api/v1/me/preferences: one JSON object per user, any role),
// so that an operator who moves to another console finds the same grid.
// This browser's localStorage keeps a copy: the page shows it at once and
// still has it when the server cannot be asked. Pure: the caller does the I/O.

// The preference member that keeps the grid of a site filter ('' none, 'none'
// or a site id): 'grid', or 'grid.site.<site>' (the server checks both as
// grids).
export const gridMember = (site = '') => (site ? `grid.site.${site}` : 'grid');

// Which stored grid to show after login: the server's when it has one (the
// newest a user saved anywhere), else this browser's. {source, value}:
// source 'server' | 'local' | 'none'; upload: the local copy should be sent
// (the server has none yet: a user's first login after this change).
export function pickGrid(serverPrefs, local, member = 'grid') {
  const server = serverPrefs && typeof serverPrefs === 'object' ? serverPrefs[member] : undefined;
  if (server && typeof server === 'object') return { source: 'server', value: server, upload: false };
  if (local && typeof local === 'object') return { source: 'local', value: local, upload: true };
  return { source: 'none', value: null, upload: false };
}

// Sends merge patches ({member: value}) one request at a time: what comes
// while one is on its way is merged into the next (a member's latest value
// wins), so a burst of layout changes is one or two requests, in order, and
// no member's change is lost. send(patch) -> Promise<boolean ok>.
export class PatchSaver {
  constructor(send) {
    this.send = send;
    this.pending = undefined;
    this.busy = false;
    this.saved = 0;   // requests answered ok
    this.failed = 0;  // answered otherwise (kept locally; the next change tries again)
  }

  push(patch) {
    this.pending = { ...(this.pending || {}), ...patch };
    if (!this.busy) this.flush();
  }

  async flush() {
    this.busy = true;
    while (this.pending !== undefined) {
      const v = this.pending;
      this.pending = undefined;
      let ok = false;
      try {
        ok = await this.send(v);
      } catch (e) {
        ok = false;
      }
      if (ok) this.saved += 1;
      else this.failed += 1;
    }
    this.busy = false;
  }

  // Logout: what was not sent is dropped (the next user is another).
  drop() {
    this.pending = undefined;
  }
}
