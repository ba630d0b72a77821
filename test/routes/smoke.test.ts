import t from 'tap'
import { buildTestApp, createShow, json, signUp } from '../helper.js'

t.test('a hold through HTTP', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const res = await app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: { authorization: user.authorization }, payload: { seatLabels: ['A1'] } })
  t.equal(res.statusCode, 201)
  t.equal(json(res).status, 'PENDING')
})
