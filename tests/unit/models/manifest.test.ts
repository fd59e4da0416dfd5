// The DAG: topological order with stable ties, and cycles reported once each, dbt style.

import { describe, expect, it } from 'vitest';
import { topologicalOrder } from '../../../transforms/models/manifest.ts';

interface OrderCase {
  description: string;
  parents: Record<string, string[]>;
  order: string[];
  cycles: string[][];
}

describe('topologicalOrder', () => {
  const cases: OrderCase[] = [
    {
      description: 'a chain runs parents first',
      parents: { c: ['b'], b: ['a'], a: [] },
      order: ['a', 'b', 'c'],
      cycles: [],
    },
    {
      description: 'ties are taken in id order',
      parents: { d: ['b', 'c'], c: ['a'], b: ['a'], a: [] },
      order: ['a', 'b', 'c', 'd'],
      cycles: [],
    },
    {
      description: 'a two-model cycle is reported from its smallest id, parent to child',
      parents: { a: ['b'], b: ['a'] },
      order: [],
      cycles: [['a', 'b', 'a']],
    },
    {
      description: 'a self-reference is a cycle',
      parents: { a: ['a'], b: [] },
      order: ['b'],
      cycles: [['a', 'a']],
    },
    {
      description: 'a model downstream of a cycle is not itself reported',
      parents: { a: ['c'], b: ['a'], c: ['b'], d: ['c'], e: [] },
      order: ['e'],
      cycles: [['a', 'b', 'c', 'a']],
    },
    {
      description: 'two separate cycles are both reported',
      parents: { a: ['b'], b: ['a'], x: ['y'], y: ['x'] },
      order: [],
      cycles: [
        ['a', 'b', 'a'],
        ['x', 'y', 'x'],
      ],
    },
  ];
  it.each(cases)('$description', ({ parents, order, cycles }) => {
    const result = topologicalOrder(Object.keys(parents), (id) => parents[id] ?? []);
    expect(result.order).toEqual(order);
    expect(result.cycles).toEqual(cycles);
  });
});
