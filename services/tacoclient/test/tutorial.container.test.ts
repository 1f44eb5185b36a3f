import { request } from 'undici';
import { describe, expect, inject, it } from 'vitest';

// The tutorial's last step, in containers (pnpm test:image): tacoclient's and tacoserver's images run
// behind the emulator's front door, and the curl the README gives, with and without a token.

const context = inject('images');

describe.skipIf(context.missing !== undefined)('the tutorial, in containers', () => {
  const tacoclient = () => {
    const entry = context.frontDoor.tacoclient;
    if (entry === undefined) throw new Error('tacoclient is not running behind the front door');
    return entry;
  };

  it('prints the line the README promises, for a caller with a token', async () => {
    const { url, token } = tacoclient();
    const answer = await request(url, { headers: { authorization: `Bearer ${token}` } });
    expect({ status: answer.statusCode, text: await answer.body.text() }).toEqual({
      status: 200,
      text: 'Sammy Sosa has consumed 2 tacos',
    });
  });

  it('refuses a caller without one', async () => {
    const answer = await request(tacoclient().url);
    await answer.body.dump();
    expect(answer.statusCode).toBe(401);
  });
});
