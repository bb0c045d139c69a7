// The People page: the signed-in owner's people (faces grouped per person) with a face crop and an editable name;
// and one person's page: their name and their photos.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Loaded, useAsync } from '../components/async.js';
import { FaceCrop, PersonName } from '../components/Faces.js';
import { PhotoGrid } from '../components/PhotoGrid.js';
import { href } from '../routes.js';

export function PeoplePage() {
  document.title = 'People — Pictograph';
  const people = useAsync(() => api.people(), []);
  return (
    <div class="page people">
      <h1>People</h1>
      <p class="muted">Faces found in your photos, grouped per person. Name someone once to find them everywhere.</p>
      <Loaded state={people}>
        {({ people: list }) =>
          list.length === 0 ? (
            <p class="muted">No faces yet: upload photos of people.</p>
          ) : (
            <ul class="people-grid" data-testid="people">
              {list.map((p) => (
                <li key={p.id} class="person-card" data-person={p.id}>
                  <a href={href.peoplePerson(p.id)}>{p.cover && <FaceCrop faceId={p.cover.id} label={p.name ?? `Person ${p.id}`} />}</a>
                  <PersonName id={p.id} name={p.name} />
                  <a class="muted small" href={href.peoplePerson(p.id)}>
                    {p.photos} {p.photos === 1 ? 'photo' : 'photos'}
                  </a>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </div>
  );
}

export function PeoplePersonPage({ id }: { id: string }) {
  const [version, setVersion] = useState(0);
  const person = useAsync(() => api.personOfFaces(id), [id, version]);
  return (
    <div class="page people-person">
      <Loaded state={person}>
        {({ person: p, photos }) => {
          document.title = `${p.name ?? 'Unnamed person'} — Pictograph`;
          return (
            <>
              <div class="person-head">
                {p.cover && <FaceCrop faceId={p.cover.id} label={p.name ?? `Person ${p.id}`} />}
                <div>
                  <h1>{p.name ?? 'Unnamed person'}</h1>
                  <PersonName id={p.id} name={p.name} onSaved={() => setVersion((v) => v + 1)} />
                  <p class="muted small">
                    {p.faces} faces in {p.photos} photos · <a href={href.people()}>all people</a>
                  </p>
                </div>
              </div>
              <PhotoGrid photos={photos} />
            </>
          );
        }}
      </Loaded>
    </div>
  );
}
