import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Socket } from 'node:net'
import { errors, IdParams } from '../../schemas/common.js'
import { SeatStreamMessage } from '../../schemas/seat-events.js'

const CRLF = Buffer.from('\r\n')
/** Each frame's HTTP/1.1 chunk, made once however many subscribers it goes to (the hub shares one Buffer per event). */
const httpChunks = new WeakMap<Buffer, Buffer>()
function httpChunkOf (frame: Buffer): Buffer {
  let chunk = httpChunks.get(frame)
  if (chunk === undefined) {
    chunk = Buffer.concat([Buffer.from(`${frame.length.toString(16)}\r\n`), frame, CRLF])
    httpChunks.set(frame, chunk)
  }
  return chunk
}

/** GET /api/shows/:id/seats/events — the live seat map (API.md, Live seat maps). No token needed. */
const seatEvents: FastifyPluginAsyncTypebox = async (fastify) => {
  const { hub, reserveStream } = fastify.liveSeatMaps

  fastify.get('/shows/:id/seats/events', {
    // 'manual': the route only streams, and @fastify/sse's Accept negotiation would answer a
    // client that asks for JSON with a 406 outside the contract's error body.
    sse: 'manual',
    schema: {
      tags: ['catalogue'],
      summary: 'The live seat map: a Server-Sent Events stream',
      description: 'Opens with `retry: 2000` and a `snapshot` (the map as GET /seats plus the show\'s status); then every seat change ' +
        'committed through any instance arrives as a `seats` event (batched, statuses absolute, `counts` after the batch) within a second, ' +
        'and a cancellation as `show`. A comment line arrives at least every 15 s. Reconnecting with `Last-Event-ID` (EventSource does it ' +
        'by itself) resumes after that event when this instance still has the changes since, on any instance (with change streams; polling ' +
        'deployments resume on the same instance); otherwise the stream starts with a new `snapshot`, which replaces the client\'s map. ' +
        'A client that reads too slowly is disconnected (it reconnects and resumes); on shutdown an instance ends its streams. ' +
        'Refused before the stream starts: 503 OVERLOADED when the instance holds MAX_STREAMS streams, 429 RATE_LIMITED beyond ' +
        'MAX_STREAMS_PER_CLIENT per client address.',
      params: IdParams,
      headers: Type.Object({
        'last-event-id': Type.Optional(Type.String({ maxLength: 200, description: 'the id of the last event received, to resume after it' }))
      }),
      response: {
        200: { description: 'the event stream', content: { 'text/event-stream': { schema: SeatStreamMessage } } },
        ...errors({
          400: true,
          404: 'SHOW_NOT_FOUND: no show has this id.',
          429: 'Also beyond MAX_STREAMS_PER_CLIENT open streams per client address.',
          503: 'OVERLOADED: this instance already holds MAX_STREAMS streams (another instance may answer).'
        })
      }
    }
  }, async (request, reply) => {
    if (request.method === 'HEAD') {
      // Fastify answers HEAD with the GET's handler: the stream's head alone, for a show that
      // exists, and no subscription (a HEAD that subscribed never ended, holding a stream slot).
      await fastify.services.shows.findShow(request.params.id)
      // (No body goes out for a HEAD; the route's typed 200 is the stream's message, hence the cast.)
      return await reply.code(200).header('content-type', 'text/event-stream').header('cache-control', 'no-cache').send('' as never)
    }
    // Limits and the show's existence are settled before anything is written, so each is an ordinary error answer.
    const release = reserveStream(request.ip)
    let unsubscribe: (() => void) | undefined
    const raw = reply.raw
    let chunkedSocket: Socket | undefined
    try {
      unsubscribe = await hub.subscribe(request.params.id, request.headers['last-event-id'], {
        // Frames are written to the socket directly: the hub encodes each event once for all of a
        // show's subscribers, where reply.sse.send would format and encode it per subscriber.
        write: (frame) => {
          if (chunkedSocket !== undefined) {
            // After the first write (which sent the headers): the frame's HTTP chunk, built once per
            // frame for every subscriber, in one socket write. The response's own write would
            // frame it again per subscriber (length, data, CRLF: three buffers, a cork and a
            // writev each); the bytes and their order on the socket are the same.
            chunkedSocket.write(httpChunkOf(frame))
            return
          }
          reply.sse.sendHeaders()
          raw.write(frame)
          // Only a chunked response (HTTP/1.1) on a live socket takes the direct path.
          if (raw.chunkedEncoding && raw.socket !== null && !raw.socket.destroyed) chunkedSocket = raw.socket
        },
        buffered: () => raw.writableLength,
        end: (reason) => {
          if (reason === 'slow') raw.destroy()
          else reply.sse.close()
        }
      })
    } catch (error) {
      release()
      throw error
    }
    reply.sse.keepAlive()
    reply.sse.onClose(() => {
      unsubscribe?.()
      release()
    })
    // The client may have gone while the snapshot was prepared.
    if (!reply.sse.isConnected || raw.destroyed) {
      unsubscribe()
      release()
    }
  })
}
export default seatEvents
