// A copy of carelake's own dbt project (dbt_project.yml, models, macros, seeds) in a test's folder, so
// a build writes its target/ there rather than into the repository.

import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../sharedData.ts';

export async function copyBundledProject(projectDir: string): Promise<void> {
  for (const part of ['dbt_project.yml', 'models', 'macros', 'seeds']) await cp(join(projectRoot, part), join(projectDir, part), { recursive: true });
}
