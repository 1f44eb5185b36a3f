const attempts = new Map<string, number>();

/** True for the first two requests to each /flaky path, which the test servers answer 503, as an overloaded service would. */
export function overloaded(url: string): boolean {
  if (!url.startsWith('/flaky')) return false;
  const attempt = (attempts.get(url) ?? 0) + 1;
  attempts.set(url, attempt);
  return attempt <= 2;
}
