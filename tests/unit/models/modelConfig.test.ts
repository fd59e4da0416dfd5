// Config layering with dbt's rules: later layers win, tags accumulate, meta merges by key.

import { describe, expect, it } from 'vitest';
import { folderConfigLayers, resolveModelConfig, type ConfigTree } from '../../../transforms/models/modelConfig.ts';

const tree: ConfigTree = {
  config: { tags: ['all'] },
  children: {
    carelake: {
      config: { materialized: 'view' },
      children: {
        marts: { config: { materialized: 'table', schema: 'curated', tags: ['marts'] }, children: { dim_patient: { config: { alias: 'patient' }, children: {} } } },
      },
    },
  },
};

describe('folderConfigLayers + resolveModelConfig', () => {
  const cases = [
    {
      description: 'a model at the root gets the project-level config',
      fqn: ['carelake', 'stg_a'],
      inFile: [],
      expected: { materialized: 'view', schema: null, tags: ['all'], alias: null, enabled: true },
    },
    {
      description: 'a folder overrides the project level and adds its tags',
      fqn: ['carelake', 'marts', 'fct_a'],
      inFile: [],
      expected: { materialized: 'table', schema: 'curated', tags: ['all', 'marts'] },
    },
    {
      description: 'a model-name key in the tree applies to that model',
      fqn: ['carelake', 'marts', 'dim_patient'],
      inFile: [],
      expected: { alias: 'patient' },
    },
    {
      description: 'in-file config() wins, and its tags are added',
      fqn: ['carelake', 'marts', 'fct_a'],
      inFile: [{ materialized: 'view', tags: ['daily', 'marts'] }],
      expected: { materialized: 'view', tags: ['all', 'marts', 'daily'] },
    },
    {
      description: 'meta merges key by key',
      fqn: ['carelake', 'x'],
      inFile: [{ meta: { owner: 'bi' } }, { meta: { pii: true } }],
      expected: { meta: { owner: 'bi', pii: true } },
    },
    {
      description: 'configs carelake does not use yet are kept',
      fqn: ['carelake', 'x'],
      inFile: [{ unique_key: 'id' }],
      expected: { extra: { unique_key: 'id' } },
    },
    {
      description: 'an unknown project name gets only the top-level config',
      fqn: ['other', 'x'],
      inFile: [],
      expected: { materialized: 'view', tags: ['all'] },
    },
  ];
  it.each(cases)('$description', ({ fqn, inFile, expected }) => {
    expect(resolveModelConfig([...folderConfigLayers(tree, fqn), ...inFile])).toMatchObject(expected);
  });
});
