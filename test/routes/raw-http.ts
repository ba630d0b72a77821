// HTTP over a real socket, for what Node decides before the app sees a request (or answers
// outside it): one exchange, and its answers split out.
import net from 'node:net'
import type { LightMyRequestResponse } from 'fastify'

/** One raw HTTP exchange: what the server wrote until it closed (silence for `timeoutMs` fails it). */
export async function rawExchange (port: number, request: string, timeoutMs = 10_000): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request))
    let out = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => { out += chunk })
    socket.on('close', () => resolve(out))
    socket.on('error', (error: NodeJS.ErrnoException) => error.code === 'ECONNRESET' ? resolve(out) : reject(error))
    socket.setTimeout(timeoutMs, () => { socket.destroy(); reject(new Error(`no answer: ${out}`)) })
  })
}

export interface RawAnswer { status: number, headers: Record<string, string>, body: string }
/** Splits what rawExchange read into its answers (each with a content-length). */
export function parseAnswers (text: string): RawAnswer[] {
  const answers: RawAnswer[] = []
  let rest = text
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n')
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n')
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
    const length = Number(headers['content-length'])
    answers.push({ status: Number(statusLine.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) })
    rest = rest.slice(end + 4 + length)
  }
  return answers
}

/** A raw answer as the light-my-request shape expectError reads. */
export const asResponse = (a: RawAnswer): LightMyRequestResponse => ({ statusCode: a.status, headers: a.headers, body: a.body }) as unknown as LightMyRequestResponse
