/** One column of a text table. */
export interface Column {
  header: string;
  /** Numbers read best right-aligned; default left. */
  align?: "left" | "right";
  /** Cut longer cells to this many characters, ending in "…". */
  maxWidth?: number;
  /**
   * This column (one per table, typically a free-text description) gives up width so the table
   * fits the `width` passed to formatTable; never below 10 characters.
   */
  flex?: boolean;
}

/** Columns are separated by this; two spaces keep columns apart without drawing lines. */
const GAP = "  ";
const MIN_FLEX = 10;

/**
 * Lays out rows under headers in aligned columns, the one table shape every listing command
 * prints. `width` (e.g. the terminal's columns) shrinks the flex column so lines do not wrap;
 * without it nothing is cut but by maxWidth, which suits output piped to other tools.
 */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  options: { indent?: string; width?: number } = {},
): string {
  const indent = options.indent ?? "";
  const limits = columns.map((column) => column.maxWidth ?? Number.POSITIVE_INFINITY);
  // Each column is as wide as its widest (possibly cut) cell or its header.
  const measure = () =>
    columns.map((column, i) =>
      Math.max(textWidth(column.header), ...rows.map((row) => Math.min(textWidth(row[i] ?? ""), limits[i] ?? Infinity))),
    );
  let widths = measure();
  const flex = columns.findIndex((column) => column.flex === true);
  if (options.width !== undefined && flex >= 0) {
    const total = textWidth(indent) + widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1);
    const excess = total - options.width;
    if (excess > 0) {
      limits[flex] = Math.max(MIN_FLEX, (widths[flex] ?? 0) - excess);
      widths = measure();
    }
  }
  const line = (cells: readonly string[]) => {
    const text = columns.map((column, i) => {
      const cell = truncate(cells[i] ?? "", limits[i] ?? Infinity);
      const width = widths[i] ?? 0;
      return column.align === "right" ? padStart(cell, width) : padEnd(cell, width);
    });
    return (indent + text.join(GAP)).trimEnd();
  };
  return [line(columns.map((column) => column.header)), ...rows.map(line)].join("\n");
}

/** Cuts text to at most `limit` characters, marking the cut with "…". */
export function truncate(text: string, limit: number): string {
  const chars = [...text];
  if (chars.length <= limit) return text;
  return `${chars.slice(0, Math.max(0, limit - 1)).join("")}…`;
}

/** Width in terminal cells, counting code points: every glyph this CLI prints is one cell wide. */
function textWidth(text: string): number {
  return [...text].length;
}

function padEnd(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - textWidth(text)));
}

function padStart(text: string, width: number): string {
  return " ".repeat(Math.max(0, width - textWidth(text))) + text;
}
