// The generated FHIR R4 model: in step with the `fhirpath` package it is built from, and answering the
// questions the compiler asks (inheritance, repeating elements, choice types, content references).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { choiceFieldName, elementOf, isResourceType, isTypeOf } from '../../../transforms/sqlOnFhir/fhirModel.ts';
import { fhirR4ModelSource, generatedModelPath } from '../../support/fhirR4ModelSource.ts';

describe('FHIR R4 model', () => {
  it('matches what the generator builds from the fhirpath package', () => {
    expect(readFileSync(generatedModelPath, 'utf8')).toBe(fhirR4ModelSource());
  });

  const cases: { description: string; type: string; element: string; expected: { many: boolean; types: string[] } | undefined }[] = [
    { description: 'a repeating element', type: 'Patient', element: 'name', expected: { many: true, types: ['HumanName'] } },
    { description: 'a primitive of a data type', type: 'HumanName', element: 'family', expected: { many: false, types: ['string'] } },
    { description: 'an inherited element (Resource.id)', type: 'Observation', element: 'id', expected: { many: false, types: ['string'] } },
    { description: 'an inherited element (DomainResource.extension)', type: 'Patient', element: 'extension', expected: { many: true, types: ['Extension'] } },
    { description: 'a backbone element typed by its path', type: 'Patient', element: 'contact', expected: { many: true, types: ['Patient.contact'] } },
    { description: 'a content reference', type: 'QuestionnaireResponse.item', element: 'item', expected: { many: true, types: ['QuestionnaireResponse.item'] } },
    { description: 'a specialised data type (Age is a Quantity)', type: 'Age', element: 'value', expected: { many: false, types: ['decimal'] } },
    { description: 'an element that does not exist', type: 'Patient', element: 'nmae', expected: undefined },
  ];
  it.each(cases)('elementOf: $description', ({ type, element, expected }) => {
    const found = elementOf(type, element);
    expect(found === undefined ? undefined : { many: found.many, types: [...found.types] }).toEqual(expected);
  });

  it('knows choice elements and their field names', () => {
    const value = elementOf('Observation', 'value')!;
    expect(value.choice).toBe(true);
    expect(value.types).toContain('Quantity');
    expect(value.types).toContain('dateTime');
    expect(choiceFieldName('value', 'Quantity')).toBe('valueQuantity');
    expect(choiceFieldName('deceased', 'boolean')).toBe('deceasedBoolean');
  });

  it('tells resources from data types', () => {
    expect(isResourceType('Patient')).toBe(true);
    expect(isResourceType('HumanName')).toBe(false);
    expect(isResourceType('DomainResource')).toBe(false);
    expect(isTypeOf('SimpleQuantity', 'Quantity')).toBe(true);
  });
});
