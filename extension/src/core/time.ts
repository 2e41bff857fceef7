/** RFC 3339 UTC with 'Z' and exactly three fractional digits, as DESIGN.md requires. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}
