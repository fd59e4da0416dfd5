// A tiny synthetic data set for behaviour tests: three Patients, their Observations and two
// Organizations, with `meta.lastUpdated` spread over 2024 so `_since` splits them. No real people.

import type { BulkServerData } from '../../support/fhirBulkServer/FhirBulkTestServer.ts';

export const PATIENT_IDS = ['pat-a', 'pat-b', 'pat-c'] as const;

function month(n: number): string {
  return `2024-${String(n).padStart(2, '0')}-15T12:00:00Z`;
}

export function tinyData(): BulkServerData {
  const patients = PATIENT_IDS.map((id, i) => JSON.stringify({ resourceType: 'Patient', id, meta: { lastUpdated: month(i + 1) }, gender: 'unknown', birthDate: '1970-01-01' }));
  const observations = Array.from({ length: 9 }, (_, i) =>
    JSON.stringify({
      resourceType: 'Observation',
      id: `obs-${i + 1}`,
      meta: { lastUpdated: month(i + 1) },
      status: 'final',
      code: { text: 'heart rate' },
      subject: { reference: `Patient/${PATIENT_IDS[i % PATIENT_IDS.length] ?? ''}` },
      valueQuantity: { value: 60 + i, unit: '/min' },
    }),
  );
  const organizations = ['org-1', 'org-2'].map((id) => JSON.stringify({ resourceType: 'Organization', id, meta: { lastUpdated: month(6) }, name: `Practice ${id}` }));
  return {
    resources: new Map([
      ['Patient', patients],
      ['Observation', observations],
      ['Organization', organizations],
    ]),
    deleted: [
      { type: 'Observation', id: 'obs-gone-1' },
      { type: 'Organization', id: 'org-gone' },
    ],
  };
}
