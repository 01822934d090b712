/** The cache option where there is no Cache API (Node): loading works as without it and says so; bad values are OptionErrors. */
import { describe, expect, it } from 'vitest';
import { clearCache, load } from '../src/index';
import { fakeFetch, handModel } from './helpers';

describe('cache option', () => {
  it('without a Cache API the model loads uncached and info.cache says so', async () => {
    const { files } = handModel({ haltP: 0.3, increments: [1, 2] });
    const m = await load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files), warmup: false, cache: true });
    expect(m.info.cache).toEqual({ available: false, modelJsonFromCache: false, shardsFromCache: 0, shardsRepaired: 0 });
    m.dispose();
    expect(await clearCache()).toBe(false);
  });

  it.each([42, '', {}])('cache: %j is an OptionError', async (value) => {
    const { files } = handModel({ haltP: 0.3, increments: [1, 2] });
    await expect(load('http://test/model.json', { backend: 'cpu', fetch: fakeFetch(files), cache: value as never }))
      .rejects.toMatchObject({ name: 'OptionError', option: 'cache' });
  });
});
