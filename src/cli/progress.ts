/** The part of a terminal stream a progress display needs; process.stderr has it. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** Reports the progress of a long command on stderr. */
export interface Progress {
  /** Records that `done` of `total` items are through. */
  update(done: number, total: number): void;
  /** Prints a message on a line of its own without garbling the bar. */
  note(message: string): void;
  /** Ends the display: the bar's last state on a TTY, one summary line otherwise. */
  finish(): void;
}

/** Width of the bar itself, in cells. */
const BAR_WIDTH = 30;
/** Redraw at most this often: a fast loop must not spend its time writing escape codes. */
const REDRAW_MS = 80;

/**
 * The progress display of `simulate`: a bar redrawn in place when the stream is a terminal, and
 * when it is not (a log file, CI), nothing until a single final line, so logs do not fill with
 * carriage returns.
 */
export function createProgress(label: string, stream: ProgressStream = process.stderr, clock: () => number = Date.now): Progress {
  const live = stream.isTTY === true;
  let state = { done: 0, total: 0 };
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const draw = () => {
    stream.write(`\r${label} ${progressBar(state.done, state.total, BAR_WIDTH)}`);
    drawn = true;
    drawnAt = clock();
  };
  return {
    update(done, total) {
      state = { done, total };
      if (live && (done >= total || clock() - drawnAt >= REDRAW_MS)) draw();
    },
    note(message) {
      // Clear the bar's line, print the message, and let the next update redraw below it.
      stream.write(`${live && drawn ? "\r\x1b[2K" : ""}${message}\n`);
      drawnAt = Number.NEGATIVE_INFINITY;
    },
    finish() {
      if (live) {
        draw();
        stream.write("\n");
      } else {
        stream.write(`${label}: ${state.done}/${state.total} done\n`);
      }
    },
  };
}

/** "[██████░░░░]  60% 6/10": a bar `width` cells wide, then the percentage and the counts. */
export function progressBar(done: number, total: number, width: number): string {
  const share = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(share * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${done}/${total}`;
}
