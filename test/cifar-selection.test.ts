/** The demo's and the benchmark's CIFAR-10 image selection: class-balanced in every prefix, stable in n. */
import { describe, expect, it } from 'vitest';
import { classesInTurn } from '../demo/samples';

// as readCifarArchive returns it: sorted by name, so class by class
const archive = ['airplane', 'automobile', 'bird'].flatMap((label) =>
  Array.from({ length: 5 }, (_, i) => ({ label, name: `test/${label}/000${i}.jpg` })));

describe('classesInTurn', () => {
  it('takes the classes in turn, each in archive order', () => {
    expect(classesInTurn(archive, 7).map((x) => x.name)).toEqual([
      'test/airplane/0000.jpg', 'test/automobile/0000.jpg', 'test/bird/0000.jpg',
      'test/airplane/0001.jpg', 'test/automobile/0001.jpg', 'test/bird/0001.jpg', 'test/airplane/0002.jpg',
    ]);
  });

  it('every prefix is the same whatever n, and n past the archive gives all of it once', () => {
    expect(classesInTurn(archive, 4)).toEqual(classesInTurn(archive, 12).slice(0, 4));
    const all = classesInTurn(archive, 100);
    expect(all).toHaveLength(15);
    expect(new Set(all.map((x) => x.name)).size).toBe(15);
  });

  it('a class that runs out leaves the turn to the others', () => {
    const uneven = [...archive.slice(0, 2), ...archive.slice(5)]; // airplane has 2 images
    expect(classesInTurn(uneven, 12).map((x) => x.label).join(',')).toBe(
      'airplane,automobile,bird,airplane,automobile,bird,automobile,bird,automobile,bird,automobile,bird');
  });
});
