// Given names that stand for each other in English-speaking records (Bob for Robert, Peggy for
// Margaret). Each group maps to one key, its first name; a name in two groups (Alex) sits in a merged
// group, and sex still tells Alexander from Alexandra. Written by hand from common usage because no
// maintained npm package carries such a table; it is a small, reviewable list, not a tuned one.

const NICKNAME_GROUPS: readonly (readonly string[])[] = [
  ['robert', 'rob', 'robbie', 'bob', 'bobby', 'bert', 'roberta'],
  ['william', 'will', 'willie', 'bill', 'billy', 'liam', 'wills'],
  ['richard', 'rich', 'richie', 'rick', 'ricky', 'dick', 'dickie'],
  ['james', 'jim', 'jimmy', 'jamie', 'jimmie'],
  ['john', 'johnny', 'jack', 'jon', 'jonny'],
  ['jonathan', 'jonty'],
  ['thomas', 'tom', 'tommy'],
  ['michael', 'mike', 'mick', 'micky', 'mikey'],
  ['christopher', 'chris', 'kit', 'christine', 'christina', 'chrissie', 'tina', 'kirsty', 'kristina'],
  ['matthew', 'matt', 'matty'],
  ['anthony', 'tony', 'ant', 'antony'],
  ['daniel', 'dan', 'danny'],
  ['david', 'dave', 'davy', 'davey'],
  ['joseph', 'joe', 'joey', 'jo', 'josephine', 'josie', 'joanne', 'joanna', 'johanna'],
  ['charles', 'charlie', 'chas', 'chuck', 'charlotte', 'lottie', 'charley'],
  ['edward', 'ed', 'eddie', 'ted', 'teddy', 'ned', 'edwin', 'edmund'],
  ['henry', 'harry', 'hal', 'hank'],
  ['andrew', 'andy', 'drew'],
  ['alexander', 'alex', 'alexandra', 'alexa', 'alec', 'sandy', 'lexi', 'sasha', 'xander'],
  ['benjamin', 'ben', 'benny', 'benedict'],
  ['samuel', 'sam', 'sammy', 'samantha'],
  ['nicholas', 'nick', 'nicky', 'nicola', 'nichola', 'nikki', 'nicole'],
  ['stephen', 'steven', 'steve', 'stevie', 'stephanie', 'steph'],
  ['peter', 'pete'],
  ['patrick', 'pat', 'paddy', 'patricia', 'patsy', 'trish', 'tricia'],
  ['timothy', 'tim', 'timmy'],
  ['frederick', 'fred', 'freddie', 'freddy', 'frederica'],
  ['francis', 'frank', 'frankie', 'fran', 'frances', 'francesca'],
  ['gerald', 'gerry', 'jerry', 'geraldine'],
  ['kenneth', 'ken', 'kenny'],
  ['lawrence', 'laurence', 'larry', 'laurie'],
  ['leonard', 'len', 'lenny', 'leo'],
  ['ronald', 'ron', 'ronnie'],
  ['donald', 'don', 'donnie'],
  ['raymond', 'ray'],
  ['philip', 'phillip', 'phil', 'pip'],
  ['gregory', 'greg'],
  ['jeffrey', 'geoffrey', 'jeff', 'geoff'],
  ['terence', 'terry', 'terrence'],
  ['vincent', 'vince', 'vinny'],
  ['zachary', 'zach', 'zack'],
  ['nathan', 'nathaniel', 'nate', 'nat', 'natalie', 'natasha', 'tasha'],
  ['oliver', 'ollie', 'olivia', 'liv', 'livvy'],
  ['joshua', 'josh'],
  ['elizabeth', 'liz', 'lizzie', 'beth', 'betty', 'bess', 'bessie', 'eliza', 'elsie', 'libby', 'lisa', 'liza', 'betsy', 'elisabeth'],
  ['margaret', 'maggie', 'meg', 'peggy', 'madge', 'margie', 'marge', 'greta', 'rita', 'maisie'],
  ['catherine', 'katherine', 'kathryn', 'cathy', 'kathy', 'kate', 'katie', 'kat', 'kitty', 'cath', 'kath', 'caitlin'],
  ['susan', 'sue', 'susie', 'suzanne', 'susannah', 'suzie'],
  ['deborah', 'debra', 'debbie', 'deb'],
  ['rebecca', 'becky', 'becca', 'bex'],
  ['jennifer', 'jenny', 'jen', 'jenna'],
  ['jessica', 'jess', 'jessie'],
  ['victoria', 'vicky', 'vicki', 'tori'],
  ['abigail', 'abby', 'abbie', 'gail'],
  ['amanda', 'mandy', 'manda'],
  ['barbara', 'barb', 'babs'],
  ['dorothy', 'dot', 'dottie', 'dora'],
  ['eleanor', 'elinor', 'ellie', 'nell', 'nellie', 'ella', 'elle', 'helen', 'helena', 'lena'],
  ['emily', 'em', 'emma', 'emmy', 'millie'],
  ['mary', 'molly', 'polly', 'mae', 'may', 'marie', 'maria', 'mamie'],
  ['ann', 'anne', 'anna', 'annie', 'hannah', 'nancy', 'nan', 'anita'],
  ['sarah', 'sara', 'sally', 'sadie'],
  ['judith', 'judy', 'jude'],
  ['pamela', 'pam'],
  ['sandra', 'sandie'],
  ['theresa', 'teresa', 'tess', 'tessa', 'terri'],
  ['valerie', 'val'],
  ['wendy', 'gwendolyn', 'gwen'],
  ['frances', 'fanny'],
  ['caroline', 'carol', 'carole', 'carrie', 'carolyn'],
  ['louise', 'louisa', 'lou', 'lulu', 'louis', 'lewis'],
  ['isabel', 'isabella', 'isabelle', 'bella', 'izzy', 'issy'],
  ['gabriel', 'gabe', 'gabriella', 'gabrielle', 'gaby'],
  ['jacqueline', 'jackie', 'jacqui'],
  ['christian', 'christie'],
  ['angela', 'angie', 'ange'],
  ['kimberley', 'kimberly', 'kim'],
  ['lucy', 'lucille', 'lucinda', 'lu'],
  ['harold', 'harry'],
  ['albert', 'al', 'alfred', 'alfie', 'alf', 'allan', 'alan', 'allen'],
  ['arthur', 'art', 'artie'],
  ['george', 'georgie', 'georgina', 'georgia'],
  ['jacob', 'jake'],
  ['ernest', 'ernie'],
  ['walter', 'walt', 'wally'],
  ['douglas', 'doug', 'dougie'],
  ['stuart', 'stewart', 'stu'],
  ['malcolm', 'mal'],
  ['derek', 'del', 'derrick'],
  ['dennis', 'den'],
  ['cameron', 'cam'],
  ['callum', 'cal', 'calum'],
  ['rosemary', 'rose', 'rosie', 'rosalind', 'roz'],
  ['gillian', 'jill', 'gill', 'jillian'],
  ['penelope', 'penny'],
  ['harriet', 'hattie'],
  ['matilda', 'tilly', 'tilda', 'mattie'],
  ['mohammed', 'muhammad', 'mohammad', 'mohamed', 'muhammed', 'mo'],
];

/** Each name → the key of its group (groups sharing a name are merged). */
export function nicknameKeys(): ReadonlyMap<string, string> {
  const parent = new Map<string, string>();
  const find = (name: string): string => {
    let root = name;
    while (parent.get(root) !== root) root = parent.get(root)!;
    return root;
  };
  for (const group of NICKNAME_GROUPS) {
    for (const name of group) if (!parent.has(name)) parent.set(name, name);
    const root = find(group[0]!);
    for (const name of group.slice(1)) {
      const other = find(name);
      if (other !== root) parent.set(other, root);
    }
  }
  return new Map([...parent.keys()].map((name) => [name, find(name)]));
}
