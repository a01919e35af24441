import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Seats, SeatsModule } from './support/readme-extension';
import { startTestApp } from './support/test-app';
import { waitFor } from './support/wait';

const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const EXAMPLE = readFileSync(join(__dirname, 'support', 'readme-extension.ts'), 'utf8');

/** Issue 9, item 16: the README's extension snippet is real code (type-checked and linted as test/support/readme-extension.ts) and works. */
describe('README', () => {
  it('shows test/support/readme-extension.ts as its extension snippet, importing the library by name', () => {
    const section = README.slice(README.indexOf('## Extending Lifeline'));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(snippet).toBe(EXAMPLE.replace("from '../../src/lifeline';", "from 'nestjs-lifeline';"));
  });

  it('the snippet works: a seat per client, released on disconnect', async () => {
    const t = await startTestApp({ imports: [SeatsModule] });
    try {
      const seats = t.app.get(Seats);
      const client = await t.join();
      await waitFor(() => seats.count === 1, 'seat taken');
      client.destroy();
      await waitFor(() => seats.count === 0 && t.registry.size === 0, 'seat released');
    } finally {
      await t.close();
    }
  });

  it('says npx -y wscat, and node dist/main.js for production', () => {
    expect(README).toContain('npx -y wscat -c ws://localhost:3000/ws');
    expect(README).not.toMatch(/npx wscat/);
    expect(README).toContain('node dist/main.js');
  });
});
