import type { ServerResponse } from 'node:http';

/**
 * What the plugins ask of `reply.raw`, answered for an HTTP/1.1 response and for an HTTP/2 one
 * (`--http2`), which keeps its bytes and its state on its own h2 stream instead.
 */
function h2StreamOf(response: ServerResponse): { readonly writableLength: number; readonly destroyed: boolean } | undefined {
  return (response as unknown as { stream?: { writableLength: number; destroyed: boolean } }).stream;
}

/** Bytes written to the response and not yet sent. */
export function bufferedBytes(response: ServerResponse): number {
  return h2StreamOf(response)?.writableLength ?? response.writableLength;
}

/** The client went away, or the response was ended or destroyed. */
export function isClosed(response: ServerResponse): boolean {
  return h2StreamOf(response)?.destroyed ?? response.destroyed;
}
