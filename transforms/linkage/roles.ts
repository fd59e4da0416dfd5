// The identity fields linkage understands (email and phone are the contact details PDS and PAS hold). A caller maps its own columns onto these roles; a role left
// unmapped is simply absent, and every comparison and blocking rule that needs it drops out.

export const LINKAGE_ROLES = ['given_name', 'family_name', 'birth_date', 'sex', 'postcode', 'nhs_number', 'address', 'email', 'phone'] as const;
export type LinkageRole = (typeof LINKAGE_ROLES)[number];

/**
 * Columns that are not identity evidence but steer linkage: the NHS number's verification status
 * (PDS trace status, `01` = verified), another record this one must join (an HL7 A40 merge), the
 * record's source and when it was recorded (for survivorship).
 */
export const LINKAGE_AUXILIARY = ['nhs_number_verification_status', 'linked_record_id', 'source', 'recorded_at'] as const;
export type LinkageAuxiliary = (typeof LINKAGE_AUXILIARY)[number];

export type LinkageField = LinkageRole | LinkageAuxiliary;

/** Input column(s) per field; several columns (`address=street_number+address_1`) are joined with a space. */
export type RoleMapping = Partial<Record<LinkageField, readonly string[]>>;

export function isLinkageRole(name: string): name is LinkageRole {
  return (LINKAGE_ROLES as readonly string[]).includes(name);
}

export function isLinkageField(name: string): name is LinkageField {
  return (LINKAGE_ROLES as readonly string[]).includes(name) || (LINKAGE_AUXILIARY as readonly string[]).includes(name);
}

/** Parses `given_name=first,family_name=surname,address=street_number+address_1`. */
export function parseRoleMapping(text: string): RoleMapping {
  const mapping: Partial<Record<LinkageField, string[]>> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const role = eq < 0 ? part : part.slice(0, eq).trim();
    const columns = eq < 0 ? [] : part.slice(eq + 1).split('+').map((c) => c.trim());
    if (!isLinkageField(role)) {
      throw new Error(`'${role}' is not a linkage role; use ${[...LINKAGE_ROLES, ...LINKAGE_AUXILIARY].join(', ')}`);
    }
    if (columns.length === 0 || columns.some((c) => c === '')) throw new Error(`role ${role} needs a column: ${role}=<column>`);
    if (mapping[role] !== undefined) throw new Error(`role ${role} is mapped twice`);
    mapping[role] = columns;
  }
  return mapping;
}

export function mappedRoles(mapping: RoleMapping): LinkageRole[] {
  return LINKAGE_ROLES.filter((role) => mapping[role] !== undefined);
}
