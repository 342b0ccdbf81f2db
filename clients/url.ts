/** Joins a contract-A path to a base URL that may carry a path prefix (`http://host/api`). */
export function endpoint(baseUrl: string, path: string, query: Record<string, string | number | undefined> = {}): URL {
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${prefix}${path}`, base);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url;
}

export function roomPath(transportPrefix: string, chatRoomId: string): string {
  return `/${transportPrefix}/chat-rooms/${encodeURIComponent(chatRoomId)}/messages`;
}
